import { databricksDialect as d } from '../dialect/databricks.ts';
import type { IdentityStep } from '../definitions/identity-step.ts';
import { fsIdentityStep } from '../definitions/identity/step.ts';
import type { Relation } from './sql/relation.ts';
import { factRelations, goldenPatientRelations, patientSourceRelations } from './sql/silver.ts';
import { identityRelations } from './sql/identity.ts';
import { goldFactRelation, goldPatientRelation } from './sql/gold.ts';

export interface PortableOptions {
  /** SQL for the update's start time; `current_timestamp()` on Databricks, a literal in the parity run. */
  readonly runStartedAt?: string;
  readonly orphanGraceHours?: number;
  readonly identity?: IdentityStep;
}

/**
 * Every silver, identity and gold relation of the pipeline in dependency order, in the portable
 * Spark SQL that both Databricks and open-source Spark run. The inputs are `bronze_patients`,
 * `bronze_claims`, `bronze_medical_events`, `ref_us_states`, `ref_icd10cm` and `identity_nickname_pairs`.
 */
export function portableRelations(opts: PortableOptions = {}): Relation[] {
  const runStartedAt = opts.runStartedAt ?? 'current_timestamp()';
  const silver = { runStartedAt, orphanGraceHours: opts.orphanGraceHours ?? 24 };
  return [
    ...patientSourceRelations(d, silver),
    ...identityRelations(d, opts.identity ?? fsIdentityStep(), runStartedAt),
    ...goldenPatientRelations(d, silver),
    ...factRelations(d, 'silver_claims', silver),
    ...factRelations(d, 'silver_medical_events', silver),
    goldPatientRelation(d),
    goldFactRelation(d, 'gold_claims'),
    goldFactRelation(d, 'gold_medical_events'),
  ];
}
