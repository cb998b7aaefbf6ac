import type { Command } from 'commander';
import { auditHead, auditPathFor, readAudit, restartAudit, verifyAudit } from '../../privacy/audit.ts';
import { withUpdateLock } from '../lakehouse-access.ts';
import { CliError, parseFormat, parseIntegerOption } from '../errors.ts';
import { formatRows } from '../format.ts';
import { addLakehouseOptions } from '../options.ts';

interface AuditOpts {
  db: string;
  landing: string;
  format: string;
  limit: string;
  action?: string;
}

/** `carelake audit [list|verify|head]`: the hash-chained audit trail next to the database. */
export function registerAudit(program: Command): void {
  const audit = program
    .command('audit')
    .description('The tamper-evident audit trail (<db>.audit.jsonl): list, verify, head, restart.');

  addLakehouseOptions(audit.command('list', { isDefault: true }).description('List the newest entries.'))
    .option('--limit <n>', 'entries to show (newest last)', '50')
    .option('--action <action>', 'only this action (e.g. export, sql_query, pipeline_update)')
    .option('--format <format>', 'table or json', 'table')
    .action((o: AuditOpts) => {
      const format = parseFormat(o.format, ['table', 'json']);
      const limit = parseIntegerOption('--limit', o.limit, 1);
      const entries = readAudit(auditPathFor(o.db))
        .filter((e) => o.action === undefined || e.action === o.action)
        .slice(-limit);
      if (format === 'json') {
        process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        entries.length
          ? formatRows(
              entries.map((e) => ({
                seq: e.seq,
                at: e.at,
                who: e.who,
                action: e.action,
                status: e.status,
                rows: e.rows,
                details: JSON.stringify(e.details),
              })),
              'table',
            )
          : `(no audit entries in ${auditPathFor(o.db)})\n`,
      );
    });

  addLakehouseOptions(
    audit
      .command('verify')
      .description('Check the hash chain: exit 1 if an entry was modified, deleted or reordered.'),
  )
    .option('--format <format>', 'text or json', 'text')
    .action((o: AuditOpts) => {
      parseFormat(o.format);
      const v = verifyAudit(auditPathFor(o.db));
      if (o.format === 'json') process.stdout.write(JSON.stringify(v, null, 2) + '\n');
      else if (v.ok)
        process.stdout.write(
          `Audit trail OK: ${v.entries} entr${v.entries === 1 ? 'y' : 'ies'}, chain intact.\n`,
        );
      if (!v.ok) {
        throw new CliError(
          `audit trail ${auditPathFor(o.db)} FAILED verification:\n  ${v.problems.join('\n  ')}`,
          1,
        );
      }
    });

  addLakehouseOptions(
    audit
      .command('head')
      .description('The newest entry’s sequence number and hash: keep a copy elsewhere to anchor the chain.'),
  )
    .option('--format <format>', 'text or json', 'text')
    .action((o: AuditOpts) => {
      parseFormat(o.format);
      const h = auditHead(auditPathFor(o.db));
      process.stdout.write(o.format === 'json' ? JSON.stringify(h) + '\n' : `${h.seq} ${h.hash}\n`);
    });

  addLakehouseOptions(
    audit
      .command('restart')
      .description(
        'After damage that verify reports: set the damaged trail aside (kept) and start a new chain whose first entry records it.',
      ),
  )
    .requiredOption('--reason <text>', 'why (recorded in the new first entry)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (o: AuditOpts & { reason: string }) => {
      parseFormat(o.format);
      const file = auditPathFor(o.db);
      await withUpdateLock(o.db, () => {
        const r = restartAudit(file, o.reason);
        if (o.format === 'json') process.stdout.write(JSON.stringify(r ?? null, null, 2) + '\n');
        else if (!r) process.stdout.write(`Audit trail ${file} verifies: nothing to restart.\n`);
        else
          process.stdout.write(
            `The damaged audit trail is kept as ${r.setAside.join(' and ')} (SHA-256 ${r.sha256}).\nA new chain starts at ${file}; its first entry records the restart. Keep \`carelake audit head\` elsewhere again.\n`,
          );
      });
    });
}
