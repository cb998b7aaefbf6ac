import type { Dataset } from './model.ts';
import { bronzeClaims, bronzeMedicalEvents, bronzePatients } from './datasets/bronze.ts';
import { silverPatients } from './datasets/silver-patients.ts';
import { silverClaims, silverMedicalEvents } from './datasets/silver-facts.ts';
import { goldClaims, goldMedicalEvents, goldPatients } from './datasets/gold.ts';

/** The one pipeline definition: nine datasets in dependency order. */
export const PIPELINE_NAME = 'carelake_patient_pipeline';

export const DATASETS: readonly Dataset[] = [
  bronzePatients,
  bronzeClaims,
  bronzeMedicalEvents,
  silverPatients,
  silverClaims,
  silverMedicalEvents,
  goldPatients,
  goldClaims,
  goldMedicalEvents,
];

export function dataset(name: string): Dataset {
  const found = DATASETS.find((d) => d.name === name);
  if (!found) throw new Error(`unknown dataset ${name}`);
  return found;
}

export interface DefinitionProblem {
  readonly code: string;
  readonly dataset: string;
  readonly message: string;
}

/** Validates the definitions up front and returns every problem at once. */
export function validatePipeline(datasets: readonly Dataset[] = DATASETS): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const seen = new Set<string>();
  const known = new Set(['silver_resolved_identity_resolution']);
  for (const ds of datasets) {
    if (seen.has(ds.name))
      problems.push({ code: 'duplicate_dataset', dataset: ds.name, message: 'declared twice' });
    seen.add(ds.name);
    for (const up of ds.upstream) {
      if (!seen.has(up) && !known.has(up)) {
        problems.push({
          code: 'upstream_order',
          dataset: ds.name,
          message: `upstream ${up} is not declared before it`,
        });
      }
    }
    const names = new Set<string>();
    for (const e of ds.expectations) {
      if (names.has(e.name))
        problems.push({ code: 'duplicate_expectation', dataset: ds.name, message: e.name });
      names.add(e.name);
    }
    const cols = new Set<string>();
    for (const c of ds.columns) {
      if (cols.has(c.name)) problems.push({ code: 'duplicate_column', dataset: ds.name, message: c.name });
      cols.add(c.name);
    }
    for (const k of ds.keys) {
      if (!cols.has(k))
        problems.push({ code: 'unknown_key', dataset: ds.name, message: `key ${k} is not a column` });
    }
  }
  return problems;
}
