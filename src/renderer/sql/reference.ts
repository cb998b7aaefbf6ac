import type { Dialect } from '../../dialect/dialect.ts';
import { nicknamePairsSql } from '../../definitions/identity/comparisons.ts';
import { fileHeader } from './ddl.ts';

/** Reference tables read from the reference volume (uploaded by `carelake upload --reference`). */
export const REFERENCE_FILES = {
  ref_us_states: 'us_states_regions.csv',
  ref_icd10cm: 'icd10cm_codes.csv',
  identity_nickname_pairs: 'names.csv',
} as const;

export function referenceFile(d: Dialect): string {
  const read = (file: string): string =>
    `read_files('\${REFERENCE_PATH}/${file}', format => 'csv', header => true, inferSchema => false)`;
  return [
    fileHeader('Reference tables shipped in data/reference (see its SOURCES.md)'),
    `CREATE OR REFRESH MATERIALIZED VIEW ref_us_states
COMMENT ${d.string('US states and territories with their Census region')}
AS SELECT state_code, state_name, NULLIF(region, '') AS region, NULLIF(division, '') AS division
FROM ${read(REFERENCE_FILES.ref_us_states)};
`,
    `CREATE OR REFRESH MATERIALIZED VIEW ref_icd10cm
COMMENT ${d.string('ICD-10-CM billable codes')}
AS SELECT code, description
FROM ${read(REFERENCE_FILES.ref_icd10cm)};
`,
    `CREATE OR REFRESH MATERIALIZED VIEW identity_nickname_pairs
COMMENT ${d.string('Symmetric first-name nickname pairs read by identity resolution (data/reference/nicknames)')}
AS ${nicknamePairsSql(read(REFERENCE_FILES.identity_nickname_pairs))};
`,
  ].join('\n');
}
