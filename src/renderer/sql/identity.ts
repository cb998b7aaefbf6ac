import type { Dialect } from '../../dialect/dialect.ts';
import type { IdentityStep } from '../../definitions/identity-step.ts';
import type { Relation } from './relation.ts';

/**
 * The identity step, plugged in between the accepted patient source records and the golden record:
 * any `IdentityStep` renders here (by default `fs-v1`, `deterministic-v1` on request).
 */
export function identityRelations(d: Dialect, step: IdentityStep, resolvedAt: string): Relation[] {
  return step.relations(d, { resolvedAt }).map((r) => ({
    name: r.name,
    role: r.persisted ? 'table' : 'view',
    sql: r.sql,
    comment: `Identity resolution (${step.version}): ${step.description}`,
  }));
}
