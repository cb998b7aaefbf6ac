import type { Command } from 'commander';
import { appendAudit, auditPathFor, principal } from '../../privacy/audit.ts';
import {
  applyRetention,
  defaultArchiveDir,
  landingStatus,
  parseDuration,
  restoreArchived,
  type RetentionResult,
} from '../../privacy/retention.ts';
import { CliError, parseFormat } from '../errors.ts';
import { formatRows } from '../format.ts';
import { withReadableLakehouse, withWritableLakehouse } from '../lakehouse-access.ts';
import { addLakehouseOptions } from '../options.ts';
import { errorMessage } from '../../support/errors.ts';

interface LandingOpts {
  db: string;
  landing: string;
  format: string;
  archiveDir?: string;
  olderThan?: string;
}

const archiveOf = (o: LandingOpts): string => o.archiveDir ?? defaultArchiveDir(o.db);

function olderThan(o: LandingOpts): number {
  if (o.olderThan === undefined) throw new CliError('--older-than <duration> is required (e.g. 30d)', 2);
  try {
    return parseDuration(o.olderThan);
  } catch (error: unknown) {
    throw new CliError(`--older-than: ${errorMessage(error)}`, 2);
  }
}

function report(format: string, verb: string, r: RetentionResult): void {
  if (format === 'json') {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return;
  }
  const lines = [`${r.acted.length} file(s) ${verb}.`];
  for (const a of r.acted) lines.push(`  ${a.fileName}${a.to ? ` → ${a.to}` : ''}`);
  if (r.kept.length) {
    const reasons = new Map<string, number>();
    for (const k of r.kept) reasons.set(k.reason, (reasons.get(k.reason) ?? 0) + 1);
    lines.push(`${r.kept.length} file(s) kept: ${[...reasons].map(([k, n]) => `${n} ${k}`).join(', ')}.`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

/** `carelake landing status|archive|purge|restore`: the retention of raw landing files (they hold SSNs). */
export function registerLanding(program: Command): void {
  const landing = program
    .command('landing')
    .description('Raw landing files hold SSNs and other PHI: see them, archive, delete or restore them.');
  const common = (cmd: Command): Command =>
    addLakehouseOptions(cmd)
      .option('--archive-dir <dir>', 'the archive folder (default: landing-archive next to the database)')
      .option('--format <format>', 'text or json', 'text');

  common(landing.command('status').description('Raw files in the landing folder and the archive.')).action(
    async (o: LandingOpts) => {
      parseFormat(o.format);
      const st = await withReadableLakehouse(o.db, async (db) => {
        if (!db) throw new CliError(`no lakehouse at ${o.db} yet: run \`carelake run\` first`, 1);
        return landingStatus(db, o.landing, archiveOf(o));
      });
      if (o.format === 'json') {
        process.stdout.write(JSON.stringify(st, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        [
          `Landing folder ${st.landingDir}: ${st.rawFiles} raw file(s), ${st.rawFilesWithSsn} with SSNs (patients files), ${st.notIngested} not ingested yet.`,
          `Archive ${st.archiveDir}: ${st.archived} file(s), ${st.archivedWithSsn} with SSNs.`,
          `Ingested files deleted by the retention policy: ${st.purged}.`,
          '',
          st.files.length
            ? formatRows(
                st.files.map((f) => ({
                  file: f.fileName,
                  where: f.where,
                  ssn: f.withSsn ? 'yes' : 'no',
                  ingested_at: f.ingestedAt ?? '(not ingested)',
                })),
                'table',
              ).trimEnd()
            : '(no landing files)',
        ].join('\n') + '\n',
      );
    },
  );

  for (const [name, action, verb] of [
    ['archive', 'archive', 'archived'],
    ['purge', 'purge', 'deleted'],
  ] as const) {
    common(
      landing
        .command(name)
        .description(
          action === 'archive'
            ? 'Move ingested, unchanged landing files older than --older-than to the archive folder.'
            : 'Delete ingested, unchanged landing files (and archived ones) older than --older-than. A full refresh (and so a key rotation) needs them: prefer archive.',
        ),
    )
      .option('--older-than <duration>', 'ingested at least this long ago (e.g. 30d, 12h, 0s)')
      .action(async (o: LandingOpts) => {
        parseFormat(o.format);
        const ms = olderThan(o);
        const r = await withWritableLakehouse(o.db, (db) =>
          applyRetention(db, {
            landingDir: o.landing,
            archiveDir: archiveOf(o),
            olderThanMs: ms,
            action,
            who: principal(),
          }),
        );
        appendAudit(auditPathFor(o.db), {
          action: `landing_${action}`,
          rows: r.acted.length,
          details: { older_than: o.olderThan, files: r.acted.map((a) => a.fileName), kept: r.kept.length },
        });
        report(o.format, verb, r);
      });
  }

  common(
    landing
      .command('restore')
      .description('Move archived landing files (all, or those named) back into the landing folder.'),
  )
    .argument('[files...]', 'file names to restore (default: all archived files)')
    .action(async (files: string[], o: LandingOpts) => {
      parseFormat(o.format);
      const r = await withWritableLakehouse(o.db, (db) =>
        restoreArchived(db, {
          landingDir: o.landing,
          archiveDir: archiveOf(o),
          ...(files.length ? { files } : {}),
          who: principal(),
        }),
      );
      appendAudit(auditPathFor(o.db), {
        action: 'landing_restore',
        rows: r.acted.length,
        details: { files: r.acted.map((a) => a.fileName), kept: r.kept.length },
      });
      report(o.format, 'restored', r);
    });
}
