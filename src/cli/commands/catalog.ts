import type { Command } from 'commander';
import { buildCatalog } from '../../privacy/catalog.ts';
import { parseFormat } from '../errors.ts';
import { formatRows } from '../format.ts';
import { withReadableLakehouse } from '../lakehouse-access.ts';
import { addLakehouseOptions } from '../options.ts';

/** `carelake catalog`: the PII catalogue of every table (definitions plus the database's row counts). */
export function registerCatalog(program: Command): void {
  addLakehouseOptions(
    program
      .command('catalog')
      .description('Tables, columns, types, PII classifications and row counts (the PII catalogue).'),
  )
    .option('--format <format>', 'text or json', 'text')
    .action(async (o: { db: string; format: string }) => {
      parseFormat(o.format);
      const catalog = await withReadableLakehouse(o.db, (db) => buildCatalog(db));
      if (o.format === 'json') {
        process.stdout.write(JSON.stringify(catalog, null, 2) + '\n');
        return;
      }
      const out: string[] = [];
      for (const t of catalog.tables) {
        out.push(
          `${t.table} (${t.kind}${t.layer ? `, ${t.layer}` : ''}; ${t.classification}; rows: ${t.rows ?? 'n/a'})`,
          `  pipelines.pii.fields: ${t.properties['pipelines.pii.fields'] || '(none)'}; change feed: ${t.properties['delta.enableChangeDataFeed'] ?? 'false'}`,
          formatRows(
            t.columns.map((c) => ({
              column: c.name,
              type: c.type,
              classification: c.classification,
              pii: c.pii ? 'yes' : 'no',
            })),
            'table',
          )
            .trimEnd()
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n'),
          '',
        );
      }
      if (catalog.unclassified.length)
        out.push(
          `Unclassified columns: ${catalog.unclassified.map((u) => `${u.table}.${u.column}`).join(', ')}`,
        );
      process.stdout.write(out.join('\n') + '\n');
    });
}
