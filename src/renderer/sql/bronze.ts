import type { Dialect, HmacKeyRef } from '../../dialect/dialect.ts';
import {
  redactSsnSql,
  ssnDigitsSql,
  ssnHashSql,
  ssnPresentSql,
  storedLandingValueSql,
  usableSsnSql,
} from '../../definitions/ssn.ts';
import { dataset } from '../../definitions/pipeline.ts';
import type { IngestDataset } from '../../definitions/model.ts';
import type { Entity } from '../../definitions/entities.ts';
import { checkedSql, rejectingRules } from './stage.ts';
import { datasetDdl, fileHeader, temporaryView } from './ddl.ts';

export interface BronzeOptions {
  readonly key: HmacKeyRef;
}

/**
 * A bronze file (Databricks only): `STREAM read_files` over the landing volume (all columns as text,
 * `_rescued_data` for values outside the contract, malformed lines kept in `_corrupt_record`), the
 * SSN hashed in the same query that reads it, the `_metadata` file columns, expectations as
 * CONSTRAINTs, and the rejected rows in a quarantine streaming table with their reasons.
 */
export function bronzeFile(d: Dialect, entity: Entity, opts: BronzeOptions): string {
  const ds = dataset(`bronze_${entity}`) as IngestDataset;
  const isPatients = entity === 'patients';
  const schema = [...ds.landingColumns.map((c) => `${c} STRING`), '_corrupt_record STRING'].join(', ');
  // A value that is an SSN is redacted by the read too, as on the local engine.
  const ownDigits = isPatients ? ssnDigitsSql(d, 'ssn') : undefined;
  const cols = ds.landingColumns.map((c) => {
    if (c === 'ssn') return `CAST(NULL AS STRING) AS ssn`;
    const value = `NULLIF(${d.ident(c)}, '')`;
    return `${storedLandingValueSql(d, entity, c, value, ownDigits === undefined ? undefined : { digits: ownDigits })} AS ${d.ident(c)}`;
  });
  // Redacted in every entity, as on the local engine: an unknown column of any file may hold an SSN.
  const rescued = redactSsnSql(d, '_rescued_data');
  const read = `SELECT ${cols.join(',\n  ')},
  ${isPatients ? `${ssnHashSql(d, 'ssn', opts.key)} AS ssn_hash,\n  CASE WHEN ${usableSsnSql(d, ssnDigitsSql(d, 'ssn'))} THEN '\${SSN_KEY_ID}' END AS _ssn_key_id,\n  ${ssnPresentSql(d, 'ssn')} AS _ssn_present,\n  ` : ''}current_timestamp() AS _ingested_at,
  _metadata.file_name AS _file_name,
  _metadata.file_path AS _file_path,
  ${rescued} AS _rescued_data,
  monotonically_increasing_id() AS _line_number,
  to_timestamp(regexp_extract(_metadata.file_name, '_([0-9]{6}_[0-9]{4})(_[0-9]+)?[.]csv$', 1), 'yyMMdd_HHmm') AS _extracted_at,
  date_format(current_timestamp(), 'yyyyMMdd-HHmmss') AS _run_id,
  CASE WHEN _corrupt_record IS NULL THEN ${ds.landingColumns.length} ELSE -1 END AS _field_count,
  ${ds.landingColumns.length} AS _header_field_count,
  ${redactSsnSql(d, '_corrupt_record')} AS _corrupt_record
FROM STREAM read_files(
  '\${VOLUMES_PATH}',
  format => 'csv',
  header => true,
  pathGlobFilter => '${entity}_*.csv',
  schema => '${schema}',
  mode => 'PERMISSIVE',
  columnNameOfCorruptRecord => '_corrupt_record',
  rescuedDataColumn => '_rescued_data',
  maxFilesPerTrigger => '\${MAX_FILES_PER_TRIGGER}'
)`;
  const checked = `${ds.name}_checked`;
  const helpers = ['_field_count', '_header_field_count', ...(isPatients ? ['_ssn_present'] : [])];
  const recordCols = [
    ...ds.landingColumns.filter((c) => c !== 'ssn'),
    ...(isPatients ? ['ssn_hash'] : []),
    '_rescued_data',
  ];
  return [
    fileHeader(`${ds.name}: ${ds.description}`, [
      'Databricks only: read_files (Auto Loader), _metadata, _rescued_data, secret() and CONSTRAINT run on Lakeflow.',
      ...(isPatients
        ? ['The raw SSN is read only inside this query and hashed at once; the table stores ssn = NULL.']
        : []),
    ]),
    temporaryView(
      d,
      checked,
      `${ds.name}: landing rows with every expectation evaluated`,
      checkedSql(d, ds.expectations, read),
    ),
    datasetDdl(d, {
      kind: 'STREAMING TABLE',
      name: ds.name,
      comment: ds.description,
      expectations: ds.expectations,
      dataset: ds,
      extraProperties: { 'pipelines.reset.allowed': 'false' },
      as: `SELECT ${[...ds.columns.map((c) => d.ident(c.name)), ...helpers].join(', ')}\nFROM STREAM(${checked})`,
    }),
    datasetDdl(d, {
      kind: 'STREAMING TABLE',
      name: `${ds.name}_quarantine`,
      comment: `${ds.name}: rejected landing rows with the names of the rules they failed (SSN already hashed)`,
      extraProperties: { 'pipelines.reset.allowed': 'false', 'data.classification': 'PHI' },
      as: `SELECT ${d.string(ds.name)} AS dataset,
  filter(_failed, x -> x IN (${rejectingRules(ds.expectations).map(d.string).join(', ')})) AS rules,
  _file_name AS file_name, _line_number AS line_number,
  CASE WHEN _corrupt_record IS NOT NULL THEN to_json(named_struct('raw_line', _corrupt_record))
    ELSE to_json(named_struct(${recordCols.map((c) => `'${c}', ${d.ident(c)}`).join(', ')})) END AS record,
  current_timestamp() AS quarantined_at
FROM STREAM(${checked})
WHERE _rejected`,
    }),
  ].join('\n');
}
