import type { BundleOptions } from '../options.ts';

export const PIPELINE_KEY = 'carelake_medallion';

/**
 * resources/pipelines.yml: one serverless pipeline over the rendered SQL files (each listed), its
 * configuration, the event log published to a named table, and notifications. No cluster keys.
 */
export function pipelinesYml(o: BundleOptions, libraryPaths: readonly string[]): object {
  return {
    resources: {
      pipelines: {
        [PIPELINE_KEY]: {
          name: `${o.bundleName}_medallion_\${var.environment}`,
          catalog: '${var.catalog}',
          schema: '${resources.schemas.medallion.name}',
          serverless: true,
          continuous: false,
          channel: 'CURRENT',
          photon: true,
          root_path: '../src/pipeline',
          libraries: libraryPaths.map((p) => ({ file: { path: `../${p}` } })),
          configuration: {
            CATALOG: '${var.catalog}',
            SCHEMA: '${resources.schemas.medallion.name}',
            PIPELINE_ENV: '${var.environment}',
            VOLUMES_PATH: '${var.volumes_path}',
            REFERENCE_PATH: '${var.reference_path}',
            MAX_FILES_PER_TRIGGER: '${var.max_files_per_trigger}',
            SSN_SECRET_SCOPE: '${var.ssn_secret_scope}',
            SSN_SECRET_KEY: '${var.ssn_secret_key}',
            SSN_KEY_ID: '${var.ssn_key_id}',
            'carelake.hipaa.enabled': 'true',
            'carelake.hipaa.age_cap': '90',
            'carelake.hipaa.ssn_hashing': 'hmac-sha256',
            'carelake.orphan_grace_hours': String(o.orphanGraceHours),
            'carelake.identity.version': o.identity.version,
            'spark.databricks.delta.properties.defaults.enableChangeDataFeed': 'true',
          },
          event_log: {
            catalog: '${var.catalog}',
            schema: '${resources.schemas.medallion.name}',
            name: 'carelake_event_log',
          },
          notifications: [
            {
              email_recipients: ['${var.alert_email}'],
              alerts: ['on-update-failure', 'on-update-fatal-failure', 'on-flow-failure'],
            },
          ],
          permissions: [
            { group_name: o.engineerGroup, level: 'CAN_MANAGE' },
            { group_name: o.phiGroup, level: 'CAN_VIEW' },
          ],
          tags: { 'data-classification': 'PHI', 'compliance-framework': 'HIPAA' },
        },
      },
    },
  };
}
