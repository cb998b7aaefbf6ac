import { databricksDialect as d } from '../../dialect/databricks.ts';
import { ENTITIES } from '../../definitions/entities.ts';
import { dataset } from '../../definitions/pipeline.ts';
import type { Scd2Dataset, TransformDataset } from '../../definitions/model.ts';
import { IDENTITY_RELATION, type IdentityStep } from '../../definitions/identity-step.ts';
import { bronzeFile } from './bronze.ts';
import { datasetDdl, fileHeader, temporaryView } from './ddl.ts';
import type { Relation } from './relation.ts';
import {
  factRelations,
  goldenPatientRelations,
  patientSourceRelations,
  type SilverOptions,
} from './silver.ts';
import { identityRelations } from './identity.ts';
import { goldFactRelation, goldPatientRelation } from './gold.ts';
import { referenceFile } from './reference.ts';

export interface PipelineFile {
  /** Path inside the bundle, e.g. `src/pipeline/silver/silver_claims.sql`. */
  readonly path: string;
  readonly content: string;
}

const QUARANTINE_PROPS = { 'data.classification': 'PHI', 'compliance.framework': 'HIPAA' };

/** The Databricks declaration of a portable relation. */
export function declare(r: Relation): string {
  switch (r.role) {
    case 'view':
      return temporaryView(d, r.name, r.comment, r.sql);
    case 'validated':
      // Databricks: the CONSTRAINTs drop the rejected rows and report every rule's metrics to the
      // event log; the portable form (r.sql) filters on _rejected, computed from the same rules.
      return datasetDdl(d, {
        kind: 'PRIVATE MATERIALIZED VIEW',
        name: r.name,
        comment: r.comment,
        expectations: r.expectations ?? [],
        as: `SELECT * FROM ${r.source ?? ''}`,
      });
    case 'table':
    case 'scd2':
      return datasetDdl(d, {
        kind: 'MATERIALIZED VIEW',
        name: r.name,
        comment: r.comment,
        // Record-level rules of silver sit on its `_validated` relation; gold rules on the table itself.
        ...(r.dataset
          ? { dataset: r.dataset, expectations: r.dataset.kind === 'transform' ? [] : r.dataset.expectations }
          : {}),
        ...(r.name.endsWith('_quarantine') || r.name === IDENTITY_RELATION
          ? { extraProperties: QUARANTINE_PROPS }
          : {}),
        as: r.sql,
      });
  }
}

/**
 * gold_patients on Databricks: an AUTO CDC flow, stored as SCD type 2, fed by the golden rows of the
 * patients whose records arrived (a stream over bronze joined to the resolved ids and silver_patients),
 * then exposed with the spec's columns. The portable window form is `goldPatientRelation`.
 */
function goldPatientsFile(): string {
  const ds = dataset('gold_patients') as Scd2Dataset;
  const silver = dataset('silver_patients') as TransformDataset;
  const sourceId = silver.derived.find((x) => x.name === 'source_patient_id')?.sql(d) ?? 'patient_id';
  const history = `${ds.name}_history`;
  const stored = ds.columns.filter((c) => !['effective_from', 'effective_to', 'is_current'].includes(c.name));
  const changes = `SELECT g.*
FROM (SELECT source_system, ${sourceId} AS source_patient_id, _extracted_at FROM STREAM(bronze_patients)) b
JOIN ${IDENTITY_RELATION} m ON m.source_system = b.source_system AND m.source_patient_id = b.source_patient_id
JOIN silver_patients g ON g.patient_id = m.patient_id AND g.${ds.sequenceBy} = b._extracted_at`;
  return [
    fileHeader(`${ds.name}: ${ds.description}`, [
      'AUTO CDC … STORED AS SCD TYPE 2 keeps __START_AT/__END_AT; gold_patients exposes them as',
      'effective_from / effective_to / is_current. Only the tracked columns open a version.',
    ]),
    temporaryView(
      d,
      `${ds.name}_changes`,
      'Golden rows of the patients whose source records arrived in this update',
      changes,
    ),
    datasetDdl(d, {
      kind: 'STREAMING TABLE',
      name: history,
      comment: `${ds.name}: SCD type 2 history kept by AUTO CDC`,
      dataset: { ...ds, clusterBy: [] },
    }),
    `CREATE FLOW ${history}_cdc AS AUTO CDC INTO ${history}
FROM STREAM(${ds.name}_changes)
KEYS (patient_id)
SEQUENCE BY ${ds.sequenceBy}
COLUMNS ${stored.map((c) => c.name).join(', ')}
STORED AS SCD TYPE 2
TRACK HISTORY ON ${ds.trackedColumns.join(', ')};
`,
    datasetDdl(d, {
      kind: 'MATERIALIZED VIEW',
      name: ds.name,
      comment: ds.description,
      dataset: ds,
      expectations: ds.expectations,
      as: `SELECT ${stored.map((c) => c.name).join(', ')},
  __START_AT AS effective_from, __END_AT AS effective_to, __END_AT IS NULL AS is_current
FROM ${history}`,
    }),
  ].join('\n');
}

const file = (
  path: string,
  title: string,
  relations: readonly Relation[],
  notes: readonly string[] = [],
): PipelineFile => ({
  path,
  content: [fileHeader(title, notes), ...relations.map(declare)].join('\n'),
});

export interface PipelineSqlOptions extends SilverOptions {
  readonly identity: IdentityStep;
  readonly key: { readonly secretScope: string; readonly secretKey: string };
}

/** Every pipeline source file, in dependency order (the order `libraries` lists them). */
export function pipelineFiles(opts: PipelineSqlOptions): PipelineFile[] {
  const bronze = ENTITIES.map((e) => ({
    path: `src/pipeline/bronze/bronze_${e}.sql`,
    content: bronzeFile(d, e, { key: opts.key }),
  }));
  const identity = identityRelations(d, opts.identity, opts.runStartedAt);
  const golden = goldenPatientRelations(d, opts);
  return [
    { path: 'src/pipeline/reference/reference_tables.sql', content: referenceFile(d) },
    ...bronze,
    file(
      'src/pipeline/silver/silver_patient_sources.sql',
      'silver_patients, part 1: staging, expectations, quarantine, accepted source records',
      patientSourceRelations(d, opts),
    ),
    file(
      `src/pipeline/identity/${opts.identity.version}.sql`,
      `Identity resolution step ${opts.identity.version}`,
      identity,
      [
        opts.identity.description,
        'Pluggable: any IdentityStep renders here; it reads silver_patient_sources and ends in silver_resolved_identity_resolution.',
      ],
    ),
    file(
      'src/pipeline/silver/silver_patients.sql',
      'silver_patients, part 2: the golden record per resolved patient and extract time',
      golden,
    ),
    file('src/pipeline/silver/silver_claims.sql', 'silver_claims', factRelations(d, 'silver_claims', opts)),
    file(
      'src/pipeline/silver/silver_medical_events.sql',
      'silver_medical_events',
      factRelations(d, 'silver_medical_events', opts),
    ),
    { path: 'src/pipeline/gold/gold_patients.sql', content: goldPatientsFile() },
    file('src/pipeline/gold/gold_claims.sql', 'gold_claims', [goldFactRelation(d, 'gold_claims')]),
    file('src/pipeline/gold/gold_medical_events.sql', 'gold_medical_events', [
      goldFactRelation(d, 'gold_medical_events'),
    ]),
    file('src/pipeline/quarantine.sql', 'quarantine: every rejected row of every dataset, with its reasons', [
      {
        name: 'quarantine',
        role: 'table',
        comment: 'Rejected rows of every dataset with the names of the rules they failed (no raw SSN)',
        sql: [
          ...ENTITIES.map((e) => `bronze_${e}`),
          'silver_patients',
          'silver_claims',
          'silver_medical_events',
        ]
          .map(
            (n) =>
              `SELECT dataset, rules, file_name, line_number, record, quarantined_at FROM ${n}_quarantine`,
          )
          .join('\nUNION ALL\n'),
      },
    ]),
  ];
}

export { goldPatientRelation };
