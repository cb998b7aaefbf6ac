import type { IdentityStep } from '../definitions/identity-step.ts';
import { fsIdentityStep } from '../definitions/identity/step.ts';

/** What a bundle is rendered with; every value has a default and most become bundle variables. */
export interface BundleOptions {
  readonly bundleName: string;
  /** Catalog of each target (variable `catalog`). */
  readonly catalogs: { readonly dev: string; readonly staging: string; readonly prod: string };
  readonly schema: string;
  readonly landingVolume: string;
  readonly referenceVolume: string;
  /** Group that may read PHI tables. */
  readonly phiGroup: string;
  /** Group that reads only the de-identified views. */
  readonly analystGroup: string;
  /** Group that manages the pipeline and jobs. */
  readonly engineerGroup: string;
  /** Principal that writes landing files into the volume (the uploader). */
  readonly ingestPrincipal: string;
  readonly alertEmail: string;
  /** Quartz cron of the scheduled refresh, and of the monitoring job. */
  readonly refreshCron: string;
  readonly monitoringCron: string;
  readonly timezone: string;
  readonly maxFilesPerTrigger: number;
  /** Databricks secret holding the SSN HMAC key as hex (the same key as the local engine's). */
  readonly secretScope: string;
  readonly secretKey: string;
  readonly orphanGraceHours: number;
  readonly identity: IdentityStep;
}

export const DEFAULT_BUNDLE_OPTIONS: BundleOptions = {
  bundleName: 'carelake',
  catalogs: { dev: 'carelake_dev', staging: 'carelake_staging', prod: 'carelake_prod' },
  schema: 'medallion',
  landingVolume: 'landing',
  referenceVolume: 'reference',
  phiGroup: 'carelake-phi-readers',
  analystGroup: 'carelake-analysts',
  engineerGroup: 'carelake-data-engineers',
  ingestPrincipal: 'carelake-ingest',
  alertEmail: 'data-alerts@example.org',
  refreshCron: '0 0 2 * * ?',
  monitoringCron: '0 30 * * * ?',
  timezone: 'UTC',
  maxFilesPerTrigger: 1000,
  secretScope: 'carelake',
  secretKey: 'ssn-hmac-key',
  orphanGraceHours: 24,
  identity: fsIdentityStep(),
};
