import type { BundleOptions } from '../options.ts';

const DEV_SCHEMA = 'dev_${workspace.current_user.short_name}_${var.schema}';

/**
 * databricks.yml: the bundle, its variables, and three targets. dev is development mode (the
 * default: names prefixed, schedules paused, pipelines in development); staging and prod are
 * production mode, which requires a workspace root_path, a run_as principal and no pipeline in
 * development.
 */
export function databricksYml(o: BundleOptions): object {
  const production = (target: 'staging' | 'prod'): object => ({
    mode: 'production',
    workspace: {
      host: '${var.workspace_host}',
      root_path: '/Workspace/Shared/.bundle/${bundle.name}/${bundle.target}',
    },
    run_as: { service_principal_name: '${var.service_principal}' },
    permissions: [
      { group_name: o.engineerGroup, level: 'CAN_MANAGE' },
      { group_name: o.phiGroup, level: 'CAN_VIEW' },
    ],
    presets: { trigger_pause_status: 'UNPAUSED', pipelines_development: false },
    variables: { catalog: o.catalogs[target], environment: target },
  });
  return {
    bundle: { name: o.bundleName, databricks_cli_version: '>= 1.0.0' },
    include: ['resources/*.yml'],
    variables: {
      workspace_host: {
        description: 'Workspace URL, e.g. https://adb-1234567890123456.7.azuredatabricks.net',
        default: 'https://example.cloud.databricks.com',
      },
      catalog: { description: 'Unity Catalog catalog of the lakehouse', default: o.catalogs.dev },
      schema: { description: 'Schema of the pipeline tables', default: o.schema },
      environment: { description: 'dev, staging or prod (PIPELINE_ENV)', default: 'dev' },
      volumes_path: {
        description: 'Landing volume the extracts are uploaded to',
        default: `/Volumes/\${var.catalog}/\${var.schema}/${o.landingVolume}`,
      },
      reference_path: {
        description: 'Volume holding the reference CSV files (carelake upload --reference)',
        default: `/Volumes/\${var.catalog}/\${var.schema}/${o.referenceVolume}`,
      },
      max_files_per_trigger: {
        description: 'Files read per micro-batch',
        default: String(o.maxFilesPerTrigger),
      },
      alert_email: { description: 'Who is told about failed updates and checks', default: o.alertEmail },
      refresh_cron: { description: 'Quartz cron of the scheduled refresh', default: o.refreshCron },
      monitoring_cron: { description: 'Quartz cron of the validation job', default: o.monitoringCron },
      warehouse_id: {
        description: 'Serverless SQL warehouse for the grants and validation tasks',
        default: '',
      },
      service_principal: {
        description: 'Application id of the service principal staging and prod run as',
        default: '',
      },
      ssn_secret_scope: {
        description: 'Secret scope holding the SSN HMAC key (hex)',
        default: o.secretScope,
      },
      ssn_secret_key: { description: 'Secret key of the SSN HMAC key', default: o.secretKey },
      ssn_key_id: { description: 'Id of that key (carelake keys id), stored with every hash', default: '' },
    },
    targets: {
      dev: {
        mode: 'development',
        default: true,
        workspace: { host: '${var.workspace_host}' },
        // Development mode renames the schema dev_<user>_<name>: the volumes live in that schema.
        variables: {
          catalog: o.catalogs.dev,
          environment: 'dev',
          volumes_path: `/Volumes/\${var.catalog}/${DEV_SCHEMA}/${o.landingVolume}`,
          reference_path: `/Volumes/\${var.catalog}/${DEV_SCHEMA}/${o.referenceVolume}`,
        },
      },
      staging: production('staging'),
      prod: production('prod'),
    },
  };
}
