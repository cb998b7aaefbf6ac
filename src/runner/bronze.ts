import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { dataset } from '../definitions/pipeline.ts';
import type { IngestDataset } from '../definitions/model.ts';
import { Database, sqlString } from '../engine/database.ts';
import { account, addExpectations, flow, type RunContext } from './context.ts';
import { redactSsnStrict as redactSsnText } from '../privacy/redact.ts';
import { evaluateExpectations } from './expectations.ts';
import { splitCsvLine, type FileInspection, type LandingFile } from './landing.ts';

/**
 * Anything shaped like an SSN (3-2-4 digits; dashes, dots, spaces or nothing between) outside a
 * longer number.
 */
const SSN_LIKE = '(^|[^0-9])[0-9]{3}[-. ]?[0-9]{2}[-. ]?[0-9]{4}([^0-9]|$)';
const redactOnce = (expr: string): string =>
  `regexp_replace(${expr}, '${SSN_LIKE}', '\\1[REDACTED]\\2', 'g')`;
/** Applied twice: one pass consumes the separator after a match, so an adjacent second SSN survives it. */
export const redactSsn = (expr: string): string => redactOnce(redactOnce(expr));

const RAW_LINES = (p: string, encoding = ''): string =>
  `read_csv(${sqlString(p)}, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', header = false, auto_detect = false, strict_mode = false, max_line_size = 10000000${encoding}) WITH ORDINALITY`;

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
 * Tries to read a suspicious file (NUL bytes, not UTF-8) as lines on a throwaway in-memory engine first:
 * a statement that fails inside the update's transaction aborts the whole transaction, so an unreadable
 * file would fail the run instead of being quarantined. Returns why it is unreadable, if it is.
 */
async function probeFile(filePath: string): Promise<{ unreadable?: string }> {
  const probe = await Database.open(':memory:');
  try {
    await probe.all(
      `SELECT COUNT(*) AS n, MAX(LENGTH(line)) AS m FROM ${RAW_LINES(filePath, ", encoding = 'latin-1'")}`,
    );
    return {};
  } catch (error: unknown) {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    return { unreadable: redactSsnText(message) };
  } finally {
    probe.close();
  }
}

/** Quarantines a file that cannot be read at all as one record, so it is accounted for. */
async function quarantineWholeFile(
  ctx: RunContext,
  ds: IngestDataset,
  file: LandingFile,
  reason: string,
  problems: string[],
): Promise<FileIngestResult> {
  problems.push(`${file.fileName}: unreadable (${reason}); quarantined as a whole`);
  await ctx.db.run(
    `INSERT INTO quarantine VALUES (?, ?, ['unreadable_file'], ?, NULL, json_object('error', ?::VARCHAR, 'size_bytes', ?::BIGINT), ${ctx.startedAtSql})`,
    [ctx.runId, ds.name, file.fileName, reason, file.sizeBytes],
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

/**
 * Ingests one landing file into its bronze table: every line is read as text, the SSN is hashed in the
 * same statement that reads it, unknown columns go to `_rescued_data`, and every line ends either in
 * bronze or in the quarantine with the rules it failed.
 */
export async function ingestFile(
  ctx: RunContext,
  file: LandingFile & { readonly inspection: FileInspection },
): Promise<FileIngestResult> {
  const { db } = ctx;
  const started = Date.now();
  const ds = dataset(`bronze_${file.entity}`) as IngestDataset;
  const problems: string[] = [];
  const insp = file.inspection;
  const known = new Set<string>(ds.landingColumns);
  const header = insp.headerLine === undefined ? [] : splitCsvLine(insp.headerLine);
  const usable = header.some((h) => known.has(normaliseHeader(h)));
  if (insp.headerLine === undefined) problems.push(`${file.fileName}: empty file (no header, no rows)`);
  else if (!usable)
    problems.push(`${file.fileName}: no known column in the header (wrong delimiter or no header line?)`);
  // Binary content (NUL bytes, or not UTF-8 and no usable header) cannot be read as lines at all.
  const unreadable = insp.hasNul || (!insp.utf8 && !usable) ? await probeFile(file.filePath) : {};
  if (unreadable.unreadable !== undefined || (insp.hasNul && !usable)) {
    return quarantineWholeFile(
      ctx,
      ds,
      file,
      unreadable.unreadable ?? 'binary content (NUL bytes)',
      problems,
    );
  }
  const encoding = insp.utf8 ? '' : ", encoding = 'latin-1'";
  if (!insp.utf8) problems.push(`${file.fileName}: not valid UTF-8; read as Latin-1`);
  const path = sqlString(file.filePath);
  const lineage = (
    line: string,
  ): string => `${ctx.startedAtSql} AS _ingested_at, ${sqlString(file.fileName)} AS _file_name,
    ${path} AS _file_path, ${line} AS _line_number,
    TIMESTAMP '${file.extractedAt.toISOString().slice(0, 19).replace('T', ' ')}' AS _extracted_at, ${sqlString(ctx.runId)} AS _run_id`;
  const isPatients = file.entity === 'patients';

  let select: string;
  if (!usable) {
    if (insp.headerLine !== undefined)
      problems.push(`${file.fileName}: not readable as CSV; every line is quarantined`);
    select = `SELECT ${ds.landingColumns.map((c) => `CAST(NULL AS VARCHAR) AS ${d.ident(c)}`).join(', ')},
      ${isPatients ? 'CAST(NULL AS VARCHAR) AS ssn_hash, CAST(NULL AS VARCHAR) AS _ssn_key_id, FALSE AS _ssn_present,' : ''}
      ${lineage('r.ordinality')}, CAST(NULL AS JSON) AS _rescued_data, -1 AS _field_count, 0 AS _header_field_count,
      ${redactSsn('r.line')} AS _raw_line
      FROM ${RAW_LINES(file.filePath, encoding)} r WHERE r.ordinality > 1`;
  } else {
    // Columns are read by position (f1 … fN, plus _overflow for surplus fields); empty fields read as ''
    // and missing ones as NULL, so a short or long line is told apart from empty values.
    const fields = header.map((_, i) => `f${i + 1}`);
    const byName = new Map<string, string>();
    header.forEach((h, i) => {
      const n = normaliseHeader(h);
      if (!byName.has(n)) byName.set(n, `p.f${i + 1}`);
    });
    const unknown = header
      .map((h, i) => ({ h, ref: `p.f${i + 1}` }))
      .filter(({ h, ref }) => !known.has(normaliseHeader(h)) || byName.get(normaliseHeader(h)) !== ref);
    const missing = ds.landingColumns.filter((c) => !byName.has(c));
    if (missing.length)
      problems.push(`${file.fileName}: missing columns ${missing.join(', ')} (read as NULL)`);
    if (unknown.length) {
      problems.push(
        `${file.fileName}: unknown columns ${unknown.map((u) => redactSsnText(u.h)).join(', ')} kept in _rescued_data`,
      );
    }
    const col = (c: string): string => {
      const ref = byName.get(c);
      return ref === undefined ? 'CAST(NULL AS VARCHAR)' : `NULLIF(${ref}, '')`;
    };
    const cols = ds.landingColumns.map((c) =>
      c === 'ssn' ? 'CAST(NULL AS VARCHAR) AS ssn' : `${col(c)} AS ${d.ident(c)}`,
    );
    // Redacted in every entity: an unknown column of a claims or events file may hold an SSN too.
    const rescuedValue = (ref: string): string => redactSsn(`NULLIF(${ref}, '')`);
    const rescued = unknown.length
      ? `CASE WHEN ${unknown.map((u) => `NULLIF(${u.ref}, '') IS NULL`).join(' AND ')} THEN NULL ELSE json_object(${unknown
          .map((u) => `${sqlString(redactSsnText(u.h))}, ${rescuedValue(u.ref)}`)
          .join(', ')}) END`
      : 'CAST(NULL AS JSON)';
    const ssnDigits = `regexp_replace(${col('ssn')}, '[^0-9]', '', 'g')`;
    const ssnCols = isPatients
      ? `CASE WHEN LENGTH(${ssnDigits}) = 9 THEN ${d.hmacSha256Hex(ssnDigits, ctx.ssnPads)} END AS ssn_hash,
         CASE WHEN LENGTH(${ssnDigits}) = 9 THEN ${sqlString(ctx.ssnKeyId)} END AS _ssn_key_id,
         NULLIF(TRIM(${col('ssn')}), '') IS NOT NULL AS _ssn_present,`
      : '';
    const fieldCount = `(${[...fields, '_overflow'].map((f) => `CASE WHEN p.${f} IS NULL THEN 0 ELSE 1 END`).join(' + ')})`;
    const spec = [...fields, '_overflow'].map((f) => `'${f}': 'VARCHAR'`).join(', ');
    select = `SELECT ${cols.join(', ')}, ${ssnCols} ${lineage('p.ordinality + 1')}, ${rescued} AS _rescued_data,
        ${fieldCount} AS _field_count, ${fields.length} AS _header_field_count,
        CASE WHEN ${fieldCount} <> ${fields.length} THEN ${redactSsn(`concat_ws(',', ${[...fields, '_overflow'].map((f) => `p.${f}`).join(', ')})`)} END AS _raw_line
      FROM read_csv(${path}, header = true, columns = {${spec}}, delim = ',', quote = '"', escape = '"',
        nullstr = chr(0), strict_mode = false, null_padding = true, auto_detect = false,
        max_line_size = 10000000${encoding}) WITH ORDINALITY p`;
  }

  const results = await evaluateExpectations(db, ds.name, select, 'eval_bronze', ds.expectations);
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
    `SELECT (SELECT COUNT(*) FROM eval_bronze) AS n,
       (SELECT COUNT(*) FROM ${ds.name} WHERE _run_id = $run AND _file_name = $file) AS out,
       (SELECT COUNT(*) FROM quarantine WHERE run_id = $run AND dataset = $ds AND file_name = $file) AS q`,
    { run: ctx.runId, file: file.fileName, ds: ds.name },
  );
  const rowsRead = counts?.n ?? 0;
  if (rowsRead !== insp.dataLines && usable) {
    problems.push(
      `${file.fileName}: ${insp.dataLines} non-empty line(s) but ${rowsRead} record(s): quoted line breaks make line numbers approximate`,
    );
  }
  const rowsOut = counts?.out ?? 0;
  const rowsQuarantined = counts?.q ?? 0;
  const f = flow(ctx, ds.name);
  addExpectations(f, results);
  f.rowsIn += rowsRead;
  f.rowsOut += rowsOut;
  f.rowsQuarantined += rowsQuarantined;
  f.seconds += (Date.now() - started) / 1000;
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
