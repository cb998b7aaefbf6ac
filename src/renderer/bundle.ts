import { stringify } from 'yaml';
import { databricksDialect as d } from '../dialect/databricks.ts';
import { DEFAULT_BUNDLE_OPTIONS, type BundleOptions } from './options.ts';
import { pipelineFiles } from './sql/pipeline-files.ts';
import { governanceSql } from './sql/governance.ts';
import { VALIDATION_CHECKS, validationSql } from './sql/monitoring.ts';
import { databricksYml } from './yaml/databricks-yml.ts';
import { pipelinesYml } from './yaml/pipelines.ts';
import { schemasYml } from './yaml/schemas.ts';
import { jobsYml, workflowsYml } from './yaml/jobs.ts';

export interface BundleFile {
  /** Path inside the bundle folder, with forward slashes. */
  readonly path: string;
  readonly content: string;
}

export interface RenderedBundle {
  readonly files: readonly BundleFile[];
  /** The pipeline's library files, in the order the pipeline lists them. */
  readonly libraries: readonly string[];
}

const yamlFile = (path: string, title: string, value: object): BundleFile => ({
  path,
  content: `# ${title}\n# Rendered by \`carelake bundle\` from src/definitions; do not edit by hand.\n${stringify(value, { lineWidth: 0 })}`,
});

/**
 * Renders the Databricks Asset Bundle from the one pipeline definition: pure, no file or engine
 * access. `writeBundle` (cli) puts the files on disk.
 */
export function renderBundle(options: Partial<BundleOptions> = {}): RenderedBundle {
  const o: BundleOptions = { ...DEFAULT_BUNDLE_OPTIONS, ...options };
  const sql = pipelineFiles({
    runStartedAt: 'current_timestamp()',
    orphanGraceHours: o.orphanGraceHours,
    identity: o.identity,
    key: { secretScope: '${SSN_SECRET_SCOPE}', secretKey: '${SSN_SECRET_KEY}' },
  });
  const governancePath = 'src/sql/governance.sql';
  const checks = VALIDATION_CHECKS.map((c) => ({
    key: c.key,
    description: c.description,
    path: `src/sql/validation/${c.key}.sql`,
    content: validationSql(d, c),
  }));
  const libraries = sql.map((f) => f.path);
  return {
    libraries,
    files: [
      yamlFile('databricks.yml', 'carelake Databricks Asset Bundle', databricksYml(o)),
      yamlFile(
        'resources/pipelines.yml',
        'The medallion pipeline (serverless Lakeflow Declarative Pipeline)',
        pipelinesYml(o, libraries),
      ),
      yamlFile('resources/schemas.yml', 'Schema, volumes and Unity Catalog grants', schemasYml(o)),
      yamlFile(
        'resources/jobs.yml',
        'Refresh jobs: on file arrival and on a schedule',
        jobsYml(o, governancePath),
      ),
      yamlFile(
        'resources/workflows.yml',
        'Monitoring workflow: level-4 and level-5 validation queries',
        workflowsYml(o, checks),
      ),
      ...sql,
      { path: governancePath, content: governanceSql(d, o) },
      ...checks.map((c) => ({ path: c.path, content: c.content })),
    ],
  };
}
