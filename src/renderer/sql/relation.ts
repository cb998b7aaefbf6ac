import type { Dataset, Expectation } from '../../definitions/model.ts';

/**
 * One relation of the rendered pipeline in its portable form: a SELECT that open-source Spark runs
 * as it is. `role` says how each target declares it:
 * - `view`: a temporary view (Databricks) / a view (Spark);
 * - `table`: a materialized view (Databricks) / a table (Spark);
 * - `validated`: rows of `source` that pass every rejecting rule: on Databricks a private
 *   materialized view whose `CONSTRAINT … EXPECT … ON VIOLATION` clauses drop them (and report the
 *   metrics to the event log); on Spark the same rules as a WHERE filter on `_rejected`;
 * - `scd2`: on Databricks an AUTO CDC flow stored as SCD type 2; on Spark the window form below,
 *   which computes the same versions from all silver rows.
 */
export interface Relation {
  readonly name: string;
  readonly role: 'view' | 'table' | 'validated' | 'scd2';
  readonly sql: string;
  /** The dataset definition it materialises (comment, clustering, properties), if any. */
  readonly dataset?: Dataset;
  readonly comment: string;
  /** For `validated`: the relation it filters and the rules it enforces. */
  readonly source?: string;
  readonly expectations?: readonly Expectation[];
}
