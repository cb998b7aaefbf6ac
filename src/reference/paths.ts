import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The folder holding the reference data shipped with carelake (see data/reference/SOURCES.md). */
export const REFERENCE_DIR = fileURLToPath(new URL('../../data/reference/', import.meta.url));

export type ReferenceFile =
  | 'icd10cm_codes.csv'
  | 'hcpcs_level2_pfs2024.csv'
  | 'hipaa_restricted_zip3.csv'
  | 'loinc_common.csv'
  | 'us_states_regions.csv'
  | 'nicknames/names.csv';

export function referencePath(file: ReferenceFile): string {
  return path.join(REFERENCE_DIR, file);
}
