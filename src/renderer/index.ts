export { renderBundle, type BundleFile, type RenderedBundle } from './bundle.ts';
export { DEFAULT_BUNDLE_OPTIONS, type BundleOptions } from './options.ts';
export { portableRelations, type PortableOptions } from './portable.ts';
export { VALIDATION_CHECKS, assertionSql } from './sql/monitoring.ts';
export { PIPELINE_KEY } from './yaml/pipelines.ts';
