import type { BundleOptions } from '../options.ts';
import { PIPELINE_KEY } from './pipelines.ts';

/** The SQL task parameters its files read as :catalog and :schema. */
const TARGET = { catalog: '${var.catalog}', schema: '${resources.schemas.medallion.name}' };

const refreshTasks = (governancePath: string): object[] => [
  {
    task_key: 'refresh_pipeline',
    pipeline_task: { pipeline_id: `\${resources.pipelines.${PIPELINE_KEY}.id}`, full_refresh: false },
  },
  {
    task_key: 'apply_grants',
    depends_on: [{ task_key: 'refresh_pipeline' }],
    sql_task: {
      warehouse_id: '${var.warehouse_id}',
      file: { path: `../${governancePath}` },
      parameters: TARGET,
    },
  },
];

const common = (o: BundleOptions): object => ({
  email_notifications: { on_failure: ['${var.alert_email}'] },
  max_concurrent_runs: 1,
  performance_target: 'PERFORMANCE_OPTIMIZED',
  tags: { 'data-classification': 'PHI' },
  permissions: [{ group_name: o.engineerGroup, level: 'CAN_MANAGE' }],
});

/**
 * resources/jobs.yml: the pipeline refreshed when files arrive in the landing volume, and on a
 * schedule (a job has one trigger, so two jobs); each then applies the grants. Serverless: a pipeline
 * task needs no compute and the SQL task runs on a serverless SQL warehouse.
 */
export function jobsYml(o: BundleOptions, governancePath: string): object {
  return {
    resources: {
      jobs: {
        carelake_refresh_on_arrival: {
          name: `${o.bundleName}_refresh_on_arrival_\${var.environment}`,
          description: 'Refreshes the pipeline when new extracts land in the volume.',
          trigger: {
            pause_status: 'UNPAUSED',
            file_arrival: {
              url: '${var.volumes_path}/',
              min_time_between_triggers_seconds: 300,
              wait_after_last_change_seconds: 120,
            },
          },
          tasks: refreshTasks(governancePath),
          ...common(o),
        },
        carelake_scheduled_refresh: {
          name: `${o.bundleName}_scheduled_refresh_\${var.environment}`,
          description: 'Refreshes the pipeline on a schedule, whether or not files arrived.',
          schedule: {
            quartz_cron_expression: '${var.refresh_cron}',
            timezone_id: o.timezone,
            pause_status: 'UNPAUSED',
          },
          tasks: refreshTasks(governancePath),
          ...common(o),
        },
      },
    },
  };
}

/**
 * resources/workflows.yml: the monitoring workflow, one SQL task per level-4 / level-5 validation
 * query of the spec; a failed assertion fails its task and mails the alert address.
 */
export function workflowsYml(
  o: BundleOptions,
  checks: readonly { key: string; path: string; description: string }[],
): object {
  return {
    resources: {
      jobs: {
        carelake_monitoring: {
          name: `${o.bundleName}_monitoring_\${var.environment}`,
          description: 'Level-4 (data quality, HIPAA) and level-5 (identity resolution) validation queries.',
          schedule: {
            quartz_cron_expression: '${var.monitoring_cron}',
            timezone_id: o.timezone,
            pause_status: 'UNPAUSED',
          },
          tasks: checks.map((c) => ({
            task_key: c.key,
            description: c.description,
            sql_task: {
              warehouse_id: '${var.warehouse_id}',
              file: { path: `../${c.path}` },
              parameters: TARGET,
            },
          })),
          ...common(o),
        },
      },
    },
  };
}
