import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { Database } from '../../engine/database.ts';
import { readGroundTruth } from '../../generator/index.ts';
import { evaluateIdentity, type IdentityEvaluation } from '../../identity/evaluate.ts';
import { identityReport } from '../../identity/monitoring.ts';
import { resetIdentityState, resolveIdentities } from '../../identity/resolve.ts';
import { decideReview, listReviewQueue, ReviewError } from '../../identity/review.ts';
import { recordIdentityDecision } from '../../privacy/audit.ts';
import { openLakehouseReadOnly, withUpdateLock } from '../lakehouse-access.ts';
import { ensureSchema } from '../../runner/schema.ts';
import { CliError, parseChoice, parseFormat, parseIntegerOption } from '../errors.ts';
import { formatRows } from '../format.ts';
import { addLakehouseOptions } from '../options.ts';
import { errorMessage } from '../../support/errors.ts';

interface DbOpts {
  db: string;
  format: string;
}

async function open(dbPath: string, readOnly: boolean): Promise<Database> {
  if (readOnly) return openLakehouseReadOnly(dbPath);
  if (!fs.existsSync(dbPath))
    throw new CliError(`no lakehouse at ${dbPath} yet: run \`carelake run\` first`, 1);
  try {
    const db = await Database.open(dbPath);
    await ensureSchema(db);
    return db;
  } catch (error: unknown) {
    throw new CliError(errorMessage(error), 1, { cause: error });
  }
}

const pct = (x: number): string => x.toFixed(6);

function renderEvaluation(title: string, e: IdentityEvaluation): string {
  const lines = [
    `${title}`,
    `  records ${e.records} (without truth ${e.recordsWithoutTruth}; truth records not resolved ${e.truthRecordsUnresolved})`,
    `  patients ${e.patients}, true persons ${e.persons}`,
    `  pairwise precision ${pct(e.pairwise.precision)}  recall ${pct(e.pairwise.recall)}  F1 ${pct(e.pairwise.f1)}`,
    `    (${e.pairwise.truePositives} of ${e.pairwise.predictedPairs} linked pairs are true; ${e.pairwise.truePairs} true pairs)`,
    `  B-cubed precision ${pct(e.bcubed.precision)}  recall ${pct(e.bcubed.recall)}`,
    `  patients holding more than one person ${e.falseMergeClusters}; persons split over several patients ${e.splitPersons}`,
    `  calibration of link confidence:`,
    ...e.calibration
      .filter((c) => c.links > 0)
      .map(
        (c) =>
          `    ${c.band.padEnd(12)} ${String(c.links).padStart(8)} links  mean confidence ${c.meanConfidence.toFixed(4)}  share correct ${c.shareCorrect.toFixed(4)}`,
      ),
  ];
  return lines.join('\n') + '\n';
}

async function truthOf(truthDir: string): Promise<{ recordKey: string; personId: string }[]> {
  const out: { recordKey: string; personId: string }[] = [];
  try {
    for await (const r of readGroundTruth(truthDir)) if (r.entity === 'patients') out.push(r);
  } catch (error: unknown) {
    throw new CliError(errorMessage(error), 1, { cause: error });
  }
  return out;
}

export function registerIdentityCommands(program: Command): void {
  const identity = program
    .command('identity')
    .description('Patient identity resolution: the review queue and the quality report.');

  addLakehouseOptions(
    identity
      .command('review')
      .description(
        'List identity pairs waiting for review, or record a decision (applied by the next `carelake run`).',
      ),
  )
    .option('--accept <id>', 'accept the review item: its two patients are merged by the next run')
    .option('--reject <id>', 'reject the review item: its records are never linked (split if linked)')
    .option('--status <status>', 'which items to list: pending, accepted, rejected or all', 'pending')
    .option('--limit <n>', 'list at most n items', '50')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: DbOpts & { accept?: string; reject?: string; status: string; limit: string }) => {
      parseFormat(opts.format);
      parseChoice('--status', opts.status, ['pending', 'accepted', 'rejected', 'all']);
      const limit = parseIntegerOption('--limit', opts.limit, 0);
      if (opts.accept !== undefined && opts.reject !== undefined)
        throw new CliError('give either --accept or --reject, not both', 2);
      const decision =
        opts.accept !== undefined ? 'accept' : opts.reject !== undefined ? 'reject' : undefined;
      const id = opts.accept ?? opts.reject;
      if (decision && id) {
        await withUpdateLock(opts.db, async () => {
          const db = await open(opts.db, false);
          try {
            await decideReview(db, id, decision, 'now()::TIMESTAMP');
          } catch (error: unknown) {
            if (error instanceof ReviewError) throw new CliError(error.message, 1, { cause: error });
            throw error;
          } finally {
            db.close();
          }
        });
        recordIdentityDecision(opts.db, { decision, pairId: id, rows: 1 });
        const msg = `review item ${id} ${decision === 'accept' ? 'accepted' : 'rejected'}; the next \`carelake run\` applies it`;
        if (opts.format === 'json')
          process.stdout.write(JSON.stringify({ reviewId: id, decision, applied: false }) + '\n');
        else process.stdout.write(msg + '\n');
        return;
      }
      const db = await open(opts.db, true);
      try {
        const items = await listReviewQueue(db, { status: opts.status, limit });
        if (opts.format === 'json') {
          process.stdout.write(formatRows(items, 'json'));
        } else if (items.length === 0) {
          process.stdout.write(`no ${opts.status === 'all' ? '' : `${opts.status} `}review items\n`);
        } else {
          process.stdout.write(
            formatRows(items, 'table', [
              'review_id',
              'status',
              'left_record',
              'left_patient_id',
              'right_record',
              'right_patient_id',
              'match_probability',
              'match_weight',
              'evidence',
            ]),
          );
        }
      } finally {
        db.close();
      }
    });

  addLakehouseOptions(
    identity
      .command('report')
      .description(
        'Identity quality: coverage, freshness, confidence, golden completeness, drift and alerts.',
      ),
  )
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: DbOpts) => {
      parseFormat(opts.format);
      const db = await open(opts.db, true);
      try {
        const r = await identityReport(db);
        if (opts.format === 'json') {
          process.stdout.write(JSON.stringify(r, null, 2) + '\n');
          return;
        }
        const l = r.latest;
        if (!l) {
          process.stdout.write('no identity resolution has run yet\n');
          return;
        }
        const num = (k: string, digits = 4): string => {
          const v = l[k];
          return typeof v === 'number' ? v.toFixed(digits) : 'n/a';
        };
        const lines = [
          `Identity resolution (run ${String(l['run_id'])}, model ${String(l['model_version'])})`,
          `  coverage               ${num('coverage')} (${String(l['records_resolved'])} of ${String(l['records_total'])} source records)`,
          `  patients               ${String(l['patients'])}`,
          `  confidence             average ${num('avg_confidence')} (SLA ≥ 0.90), minimum ${num('min_confidence')}`,
          `  confidence histogram   ${JSON.stringify(l['confidence_histogram'])}`,
          `  golden completeness    ${num('golden_completeness')}`,
          `  freshness              identity_resolution_age_hours max ${num('max_age_hours', 1)}, average ${num('avg_age_hours', 1)} (SLA 4 h); last run ${r.hoursSinceLastRun === null ? 'n/a' : r.hoursSinceLastRun.toFixed(1)} h ago`,
          `  match rate             ${num('match_rate')}`,
          `  cluster sizes          ${JSON.stringify(l['cluster_sizes'])}`,
          `  drift vs previous run  ${JSON.stringify(l['drift'])}`,
          `  review queue           ${r.reviewPending} pending`,
          `  audit                  ${JSON.stringify(r.auditCounts)}`,
          `Alerts:`,
          ...(r.alerts.length ? r.alerts.map((a) => `  - ${a}`) : ['  (none)']),
        ];
        process.stdout.write(lines.join('\n') + '\n');
      } finally {
        db.close();
      }
    });

  const verify = program
    .command('verify')
    .description('Score pipeline results against generated ground truth.');
  addLakehouseOptions(
    verify
      .command('identity')
      .description(
        'Pairwise precision/recall/F1 and B-cubed precision/recall of identity resolution against the ground truth.',
      ),
  )
    .option('--truth <dir>', 'the ground-truth folder written by `carelake generate`', 'truth')
    .option('--without-ssn', 'also resolve again from scratch with the SSN removed from every record', false)
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: DbOpts & { truth: string; withoutSsn: boolean }) => {
      parseFormat(opts.format);
      const truth = await truthOf(opts.truth);
      const db = await open(opts.db, true);
      let stored: IdentityEvaluation;
      try {
        stored = await evaluateIdentity(db, truth);
      } finally {
        db.close();
      }
      let withoutSsn: IdentityEvaluation | undefined;
      if (opts.withoutSsn) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-verify-'));
        try {
          const copy = path.join(dir, 'copy.duckdb');
          // Under the update lock: no update writes the files while they are copied.
          await withUpdateLock(opts.db, () => {
            fs.copyFileSync(opts.db, copy);
            if (fs.existsSync(`${opts.db}.wal`)) fs.copyFileSync(`${opts.db}.wal`, `${copy}.wal`);
          });
          const c = await Database.open(copy);
          try {
            await ensureSchema(c);
            await resetIdentityState(c);
            await resolveIdentities(c, {
              runId: 'verify-without-ssn',
              resolvedAtSql: 'now()::TIMESTAMP',
              sourceFilter: 'TRUE',
              withoutSsn: true,
            });
            withoutSsn = await evaluateIdentity(c, truth);
          } finally {
            c.close();
          }
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      if (opts.format === 'json') {
        process.stdout.write(
          JSON.stringify({ stored, ...(withoutSsn ? { withoutSsn } : {}) }, null, 2) + '\n',
        );
      } else {
        process.stdout.write(renderEvaluation('Identity resolution against the ground truth', stored));
        if (withoutSsn)
          process.stdout.write(
            renderEvaluation('Resolved again with the SSN removed from every record', withoutSsn),
          );
      }
    });
}
