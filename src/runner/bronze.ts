import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { dataset } from '../definitions/pipeline.ts';
import type { IngestDataset } from '../definitions/model.ts';
import { Database, sqlString } from '../engine/database.ts';
import { account, addExpectations, flow, type RunContext } from './context.ts';
import { evaluateExpectations } from './expectations.ts';
import type { LandingFile } from './landing.ts';

/** Anything shaped like an SSN (3-2-4 digits, dashes optional) outside a longer number. */
const SSN_LIKE = '(^|[^0-9])[0-9]{3}-?[0-9]{2}-?[0-9]{4}([^0-9]|$)';
const redactOnce = (expr: string): string =>
  `regexp_replace(${expr}, '${SSN_LIKE}', '\\1[REDACTED]\\2', 'g')`;
/** Applied twice: one pass consumes the separator after a match, so an adjacent second SSN survives it. */
export const redactSsn = (expr: string): string => redactOnce(redactOnce(expr));
/** The same redaction for text built in TypeScript (header names, engine error messages). */
const redactSsnText = (text: string): string =>
  text.replace(
    /(^|[^0-9])(?=[0-9]{3}-?[0-9]{2}-?[0-9]{4}(?:[^0-9]|$))[0-9]{3}-?[0-9]{2}-?[0-9]{4}/g,
    '$1[REDACTED]',
  );

const CSV_OPTIONS =
  "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', strict_mode = false, null_padding = true, max_line_size = 10000000";
const RAW_LINES = (p: string): string =>
  `read_csv(${sqlString(p)}, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', header = false, auto_detect = false, strict_mode = false, max_line_size = 10000000) WITH ORDINALITY`;

/** Number of fields on a raw CSV line: commas outside double-quoted sections, plus one. */
const fieldCount = (line: string): string => {
  const unquoted = `regexp_replace(${line}, '"[^"]*"', '', 'g')`;
  return `(LENGTH(${unquoted}) - LENGTH(REPLACE(${unquoted}, ',', '')) + 1)`;
};

const normaliseHeader = (name: string): string =>
  name
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '_');

export interface FileIngestResult {
  readonly rowsRead: number;
  readonly rowsOut: number;
  readonly rowsQuarantined: number;
  readonly problems: string[];
}

/**
 * Tries the reads on a throwaway in-memory engine first: a statement that fails inside the update's
 * transaction aborts the whole transaction, so an unreadable file would fail the run instead of being
 * quarantined. Returns the header (undefined when the file does not read as CSV) or why it is unreadable.
 */
async function probeFile(filePath: string): Promise<{ header?: string[]; unreadable?: string }> {
  const probe = await Database.open(':memory:');
  try {
    try {
      await probe.all(`SELECT COUNT(*) AS n, MAX(LENGTH(line)) AS m FROM ${RAW_LINES(filePath)}`);
    } catch (error: unknown) {
      const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
      return { unreadable: redactSsnText(message) };
    }
    try {
      const csv = `read_csv(${sqlString(filePath)}, ${CSV_OPTIONS})`;
      const cols = await probe.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${csv}`);
      await probe.all(`SELECT COUNT(*) AS n, MAX(LENGTH(CAST(t AS VARCHAR))) AS m FROM ${csv} t`);
      return { header: cols.map((c) => c.column_name) };
    } catch {
      return {};
    }
  } finally {
    probe.close();
  }
}

/**
 * Ingests one landing file into its bronze table: every line is read as text, the SSN is hashed in the
 * same statement that reads it, unknown columns go to `_rescued_data`, and every line ends either in
 * bronze or in the quarantine with the rules it failed.
 */
export async function ingestFile(ctx: RunContext, file: LandingFile): Promise<FileIngestResult> {
  const { db } = ctx;
  const ds = dataset(`bronze_${file.entity}`) as IngestDataset;
  const problems: string[] = [];
  const probed = await probeFile(file.filePath);
  let header = probed.header;
  // A header without a single contract column (wrong delimiter, no header line) is not this entity's CSV.
  if (header && !header.some((h) => (ds.landingColumns as readonly string[]).includes(normaliseHeader(h)))) {
    problems.push(
      file.sizeBytes === 0
        ? `${file.fileName}: empty file (no header, no rows)`
        : `${file.fileName}: no known column in the header (wrong delimiter or no header line?)`,
    );
    header = undefined;
  }
  const path = sqlString(file.filePath);
  const lineage = `${ctx.startedAtSql} AS _ingested_at, ${sqlString(file.fileName)} AS _file_name, ${path} AS _file_path,
    r.ordinality AS _line_number, TIMESTAMP '${file.extractedAt.toISOString().slice(0, 19).replace('T', ' ')}' AS _extracted_at,
    ${sqlString(ctx.runId)} AS _run_id`;
  const isPatients = file.entity === 'patients';

  let select: string;
  if (header === undefined) {
    problems.push(`${file.fileName}: not readable as CSV; every line is quarantined`);
    select = `SELECT ${ds.landingColumns.map((c) => `CAST(NULL AS VARCHAR) AS ${d.ident(c)}`).join(', ')},
      ${isPatients ? 'CAST(NULL AS VARCHAR) AS ssn_hash, CAST(NULL AS VARCHAR) AS _ssn_key_id, FALSE AS _ssn_present,' : ''}
      ${lineage}, CAST(NULL AS JSON) AS _rescued_data, -1 AS _field_count, 0 AS _header_field_count,
      ${redactSsn('r.line')} AS _raw_line
      FROM ${RAW_LINES(file.filePath)} r WHERE r.ordinality > 1`;
  } else {
    const byName = new Map<string, string>();
    for (const h of header) {
      const n = normaliseHeader(h);
      if (!byName.has(n)) byName.set(n, h);
    }
    const known = new Set<string>(ds.landingColumns);
    const unknown = header.filter(
      (h) => !known.has(normaliseHeader(h)) || byName.get(normaliseHeader(h)) !== h,
    );
    const missing = ds.landingColumns.filter((c) => !byName.has(c));
    if (missing.length)
      problems.push(`${file.fileName}: missing columns ${missing.join(', ')} (read as NULL)`);
    if (unknown.length)
      problems.push(
        `${file.fileName}: unknown columns ${unknown.map(redactSsnText).join(', ')} kept in _rescued_data`,
      );
    const col = (c: string): string => {
      const h = byName.get(c);
      return h === undefined ? 'CAST(NULL AS VARCHAR)' : `p.${d.ident(h)}`;
    };
    const cols = ds.landingColumns.map((c) =>
      c === 'ssn' ? 'CAST(NULL AS VARCHAR) AS ssn' : `${col(c)} AS ${d.ident(c)}`,
    );
    const rescuedValue = (h: string): string =>
      isPatients ? redactSsn(`p.${d.ident(h)}`) : `p.${d.ident(h)}`;
    const rescued = unknown.length
      ? `CASE WHEN ${unknown.map((h) => `p.${d.ident(h)} IS NULL`).join(' AND ')} THEN NULL ELSE json_object(${unknown
          .map((h) => `${sqlString(redactSsnText(h))}, ${rescuedValue(h)}`)
          .join(', ')}) END`
      : 'CAST(NULL AS JSON)';
    const ssnDigits = `regexp_replace(${col('ssn')}, '[^0-9]', '', 'g')`;
    const ssnCols = isPatients
      ? `CASE WHEN LENGTH(${ssnDigits}) = 9 THEN ${d.hmacSha256Hex(ssnDigits, ctx.ssnPads)} END AS ssn_hash,
         CASE WHEN LENGTH(${ssnDigits}) = 9 THEN ${sqlString(ctx.ssnKeyId)} END AS _ssn_key_id,
         NULLIF(TRIM(${col('ssn')}), '') IS NOT NULL AS _ssn_present,`
      : '';
    select = `WITH p AS (SELECT * FROM read_csv(${path}, ${CSV_OPTIONS}) WITH ORDINALITY),
      r AS (SELECT * FROM ${RAW_LINES(file.filePath)}),
      h AS (SELECT ${fieldCount('line')} AS n FROM r WHERE ordinality = 1)
      SELECT ${cols.join(', ')}, ${ssnCols} ${lineage}, ${rescued} AS _rescued_data,
        ${fieldCount('r.line')} AS _field_count, (SELECT n FROM h) AS _header_field_count,
        CASE WHEN ${fieldCount('r.line')} <> (SELECT n FROM h) THEN ${redactSsn('r.line')} END AS _raw_line
      FROM r LEFT JOIN p ON p.ordinality + 1 = r.ordinality
      WHERE r.ordinality > 1`;
  }
  if (probed.unreadable === undefined) await db.run(`CREATE OR REPLACE TEMP TABLE stage_bronze AS ${select}`);
  else {
    // Not even readable as lines (e.g. invalid UTF-8): the whole file is quarantined as one record.
    const message = probed.unreadable;
    problems.push(`${file.fileName}: unreadable (${message}); quarantined as a whole`);
    await db.run(
      `INSERT INTO quarantine VALUES (?, ?, ['unreadable_file'], ?, NULL, json_object('error', ?::VARCHAR, 'size_bytes', ?::BIGINT), ${ctx.startedAtSql})`,
      [ctx.runId, ds.name, file.fileName, message, file.sizeBytes],
    );
    const f = flow(ctx, ds.name);
    f.rowsIn += 1;
    f.rowsQuarantined += 1;
    account(ctx, {
      dataset: ds.name,
      file_name: file.fileName,
      rows_in: 1,
      rows_out: 0,
      rows_quarantined: 1,
      rows_parked: 0,
    });
    return { rowsRead: 1, rowsOut: 0, rowsQuarantined: 1, problems };
  }

  const results = await evaluateExpectations(db, ds.name, 'stage_bronze', 'eval_bronze', ds.expectations);
  const recordCols = [
    ...ds.landingColumns.filter((c) => c !== 'ssn'),
    ...(isPatients ? ['ssn_hash', '_ssn_key_id'] : []),
    '_rescued_data',
  ];
  await db.run(`INSERT INTO quarantine
    SELECT _run_id, ${sqlString(ds.name)}, list_filter(_failed, x -> x IN (${ds.expectations
      .filter((e) => e.action !== 'warn')
      .map((e) => sqlString(e.name))
      .join(', ')})), _file_name, _line_number,
      CASE WHEN _raw_line IS NOT NULL THEN json_object('raw_line', _raw_line)
        ELSE json_object(${recordCols.map((c) => `'${c}', ${d.ident(c)}`).join(', ')}) END,
      ${ctx.startedAtSql}
    FROM eval_bronze WHERE _rejected`);
  const colNames = ds.columns.map((c) => d.ident(c.name)).join(', ');
  await db.run(
    `INSERT INTO ${ds.name} (${colNames}) SELECT ${colNames} FROM eval_bronze WHERE NOT _rejected`,
  );
  // Accounting from the tables themselves, not from the classification: lines read from the file
  // must equal rows now in bronze plus rows now in the quarantine for this file and run.
  const counts = await db.one<{ n: number; out: number; q: number }>(
    `SELECT (SELECT COUNT(*) FROM stage_bronze) AS n,
       (SELECT COUNT(*) FROM ${ds.name} WHERE _run_id = $run AND _file_name = $file) AS out,
       (SELECT COUNT(*) FROM quarantine WHERE run_id = $run AND dataset = $ds AND file_name = $file) AS q`,
    { run: ctx.runId, file: file.fileName, ds: ds.name },
  );
  const rowsRead = counts?.n ?? 0;
  const rowsOut = counts?.out ?? 0;
  const rowsQuarantined = counts?.q ?? 0;
  const f = flow(ctx, ds.name);
  addExpectations(f, results);
  f.rowsIn += rowsRead;
  f.rowsOut += rowsOut;
  f.rowsQuarantined += rowsQuarantined;
  account(ctx, {
    dataset: ds.name,
    file_name: file.fileName,
    rows_in: rowsRead,
    rows_out: rowsOut,
    rows_quarantined: rowsQuarantined,
    rows_parked: 0,
  });
  return { rowsRead, rowsOut, rowsQuarantined, problems };
}
