import { duckdbDialect as d } from '../dialect/duckdb.ts';
import { dataset } from '../definitions/pipeline.ts';
import type { IngestDataset } from '../definitions/model.ts';
import {
  redactSsnSql,
  ssnDigitsHashSql,
  ssnDigitsSql,
  ssnHashSql,
  ssnPresentSql,
  ssnInRowSql,
  storedLandingValueSql,
} from '../definitions/ssn.ts';
import fs from 'node:fs';
import { Database, sqlString } from '../engine/database.ts';
import { listSegment, newSegment, segmentColumns, segmentRowsSql } from './bronze-store.ts';
import { account, addExpectations, flow, type RunContext } from './context.ts';
import { redactSsnStrict as redactSsnText } from '../privacy/redact.ts';
import { expectationResults, failedRulesSql, passesSql, rejectedSql } from './expectations.ts';
import { firstUndefinedLatin1Byte, splitCsvLine, type FileInspection, type LandingFile } from './landing.ts';

/** SSN-shaped text redacted (`src/definitions/ssn.ts`), as the DuckDB dialect spells it. */
export const redactSsn = (expr: string): string => redactSsnSql(d, expr);

/**
 * The longest record the reader takes by default, and the most it is ever asked to take. A record over
 * the reader's limit fails the statement, and with it the update: a file whose longest record (as the
 * inspection measured it) is longer is read with a limit just above it. Over the ceiling the file is
 * first read on a throwaway engine at the ceiling (a stray quote makes the measure too long) and
 * quarantined as a whole if that fails.
 */
export const DEFAULT_LINE_LIMIT = 10_000_000;
export const MAX_LINE_LIMIT = 64_000_000;

/** The reader's limit for a file whose longest record is `longest` bytes. */
export const lineLimit = (longest: number): number =>
  Math.min(MAX_LINE_LIMIT, Math.max(DEFAULT_LINE_LIMIT, longest + 4096));

/** The most fields a landing file's header may have to be read as columns (the contract has at most 21). */
export const MAX_COLUMNS = 500;

const RAW_LINES = (p: string, encoding = '', limit = DEFAULT_LINE_LIMIT): string =>
  `read_csv(${sqlString(p)}, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', header = false, auto_detect = false, strict_mode = false, max_line_size = ${limit}${encoding}) WITH ORDINALITY`;

/**
 * The key of header field `i` in `_rescued_data`: its name (SSN-shaped text redacted), made unique the
 * way Spark's CSV reader does, so no value is lost to a repeated key: an empty name becomes `_c<i>`,
 * a name the header repeats `<name><i>` (`i` counted from 0).
 */
export function rescuedKey(header: readonly string[], i: number): string {
  const name = redactSsnText(header[i] ?? '');
  if (name.trim() === '') return `_c${i}`;
  return header.filter((h) => redactSsnText(h) === name).length > 1 ? `${name}${i}` : name;
}

const normaliseHeader = (name: string): string =>
  name
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '_');

/** Rows of one of the engine's row groups. */
const ROW_GROUP_ROWS = 122_880;

/** The working views of the bronze rows an update wrote, one per entity (see defineBronzeRows). */
export const BRONZE_ROWS_PREFIX = 'bronze_rows_';
const bronzeRowsView = (entity: string): string => `${BRONZE_ROWS_PREFIX}${entity}`;

/** Per update: how many segments it wrote, and their names per bronze dataset. */
const runSegments = new WeakMap<RunContext, { count: number; byDataset: Map<string, string[]> }>();

function segmentsOf(ctx: RunContext): { count: number; byDataset: Map<string, string[]> } {
  let segments = runSegments.get(ctx);
  if (segments === undefined) runSegments.set(ctx, (segments = { count: 0, byDataset: new Map() }));
  return segments;
}

/**
 * Defines, once every file is ingested, the working view of each entity's bronze rows this update
 * wrote (its segments): silver and identity stage from it. One scan of a list of files, planned once
 * however many files there are.
 */
export async function defineBronzeRows(ctx: RunContext): Promise<void> {
  for (const [name, segments] of runSegments.get(ctx)?.byDataset ?? []) {
    const ds = dataset(name) as IngestDataset;
    await ctx.db.defineView(bronzeRowsView(ds.entity), segmentRowsSql(ds, segments));
  }
}

/** The bronze rows this update wrote for `entity` (defineBronzeRows; none when it wrote none). */
export function thisRunsBronzeSql(ctx: RunContext, entity: string): string {
  const ds = dataset(`bronze_${entity}`) as IngestDataset;
  return runSegments.get(ctx)?.byDataset.has(ds.name)
    ? `SELECT * FROM ${bronzeRowsView(entity)}`
    : segmentRowsSql(ds, []);
}

export interface FileIngestResult {
  readonly rowsRead: number;
  readonly rowsOut: number;
  readonly rowsQuarantined: number;
  readonly problems: string[];
}

/**
 * Runs a read of a suspicious file (NUL bytes, not UTF-8, a record over the ceiling) on a throwaway
 * in-memory engine first: a statement that fails inside the update's transaction aborts the whole
 * transaction, so an unreadable file would fail the run instead of being quarantined. Returns why it is
 * unreadable (the engine's first line of the error, redacted), if it is.
 */
async function probeFile(readSql: string): Promise<{ unreadable?: string }> {
  const probe = await Database.open(':memory:');
  try {
    await probe.all(`SELECT COUNT(*) AS n FROM (${readSql})`);
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
  f.completedAt = new Date();
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
 * Ingests one landing file into its bronze segment: every line is read as text, the SSN is hashed in the
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
  // Each column is a term of the statements that read the file, and the engine refuses expressions
  // nested deeper than 1,000 (a header of about 1,000 fields failed the update): a wider file is read
  // as lines, each quarantined as malformed.
  const tooWide = header.length > MAX_COLUMNS;
  const usable = !tooWide && header.some((h) => known.has(normaliseHeader(h)));
  // A file whose first bytes say it is something else (and whose first line names no column) is
  // quarantined as that, without reading it.
  if (insp.notCsv !== undefined && !usable) return quarantineWholeFile(ctx, ds, file, insp.notCsv, problems);
  if (insp.headerLine === undefined)
    problems.push(
      insp.leadingBlankLines > 0
        ? `${file.fileName}: blank lines only (no header, no rows)`
        : `${file.fileName}: empty file (no header, no rows)`,
    );
  else if (tooWide)
    problems.push(
      `${file.fileName}: a header of more than ${MAX_COLUMNS} fields, the most a landing file may have`,
    );
  else if (!usable)
    problems.push(`${file.fileName}: no known column in the header (wrong delimiter or no header line?)`);
  const limit = lineLimit(insp.longestRecord);
  if (limit > DEFAULT_LINE_LIMIT)
    problems.push(
      `${file.fileName}: a record of ${insp.longestRecord} bytes (read with a limit of ${limit} bytes)`,
    );
  // A text file that is not UTF-8 is read as Latin-1, which leaves the bytes 0x80-0x9F undefined: the
  // engine refuses the whole file (the update failed), so it is quarantined as a whole before any read,
  // with where the byte is. (Binary content with NUL bytes is probed below.)
  const undefinedByte = insp.utf8 || insp.hasNul ? undefined : await firstUndefinedLatin1Byte(file.filePath);
  if (undefinedByte !== undefined)
    return quarantineWholeFile(
      ctx,
      ds,
      file,
      `not UTF-8, and line ${undefinedByte.line} holds the byte 0x${undefinedByte.byte.toString(16).toUpperCase()}, which Latin-1 does not define (Windows-1252 text?); convert the file to UTF-8 and deliver it under a new name`,
      problems,
    );
  // Binary content (NUL bytes, or not UTF-8 and no usable header) cannot be read as lines at all.
  const unreadable =
    insp.hasNul || (!insp.utf8 && !usable)
      ? await probeFile(
          `SELECT MAX(LENGTH(line)) FROM ${RAW_LINES(file.filePath, ", encoding = 'latin-1'", limit)}`,
        )
      : {};
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
  const raw = 'bronze_raw';
  if (!insp.utf8) problems.push(`${file.fileName}: not valid UTF-8; read as Latin-1`);
  const path = sqlString(file.filePath);
  const isPatients = file.entity === 'patients';

  // One read of the file into its staged records (its bronze segment, see bronze-store.ts), then a
  // check pass over them that keeps only the record count and, for records that fail a rule, the rules
  // and (if rejected) the quarantine record. Whatever may hold an SSN is made safe by the read itself,
  // so the staged records (a file that stays as bronze) never hold a raw SSN: the SSN column is hashed
  // (once per row), unknown columns become the redacted `_rescued_data`, and a malformed line is kept
  // only as redacted text.
  let read: string;
  /** The landing value of a column, over the staged record ('' read as NULL). */
  let col: (column: string) => string;
  let headerFieldCount: number;
  /** Which staged records are data rows, and their physical line (header = 1) from `$pos - $base`. */
  let where = '';
  let line: string;
  if (!usable) {
    if (insp.headerLine !== undefined)
      problems.push(`${file.fileName}: not readable as CSV; every line is quarantined`);
    read = `SELECT -1 AS _field_count, CAST(NULL AS JSON) AS _rescued_data, ${redactSsn('line')} AS _raw_line,
        ${isPatients ? 'CAST(NULL AS VARCHAR) AS _ssn_hash, FALSE AS _ssn_present' : ''}
      FROM ${RAW_LINES(file.filePath, encoding, limit)}`;
    col = () => 'CAST(NULL AS VARCHAR)';
    headerFieldCount = 0;
    // Lines are physical here (blank ones read as NULL): every line after the header that is not blank.
    where = `$pos > $base + ${insp.leadingBlankLines} AND _raw_line IS NOT NULL`;
    line = '$pos - $base + 1';
  } else {
    // Columns are read by position (f1 … fN, plus _overflow for surplus fields); empty fields read as ''
    // and missing ones as NULL, so a short or long line is told apart from empty values.
    const fields = header.map((_, i) => `f${i + 1}`);
    const byName = new Map<string, string>();
    header.forEach((h, i) => {
      const n = normaliseHeader(h);
      if (!byName.has(n)) byName.set(n, `f${i + 1}`);
    });
    const unknown = header
      .map((h, i) => ({ h, ref: `f${i + 1}`, key: rescuedKey(header, i) }))
      .filter(({ h, ref }) => !known.has(normaliseHeader(h)) || byName.get(normaliseHeader(h)) !== ref);
    const missing = ds.landingColumns.filter((c) => !byName.has(c));
    if (missing.length)
      problems.push(`${file.fileName}: missing columns ${missing.join(', ')} (read as NULL)`);
    if (unknown.length) {
      problems.push(
        `${file.fileName}: unknown columns ${unknown.map((u) => redactSsnText(u.h)).join(', ')} kept in _rescued_data`,
      );
    }
    // Redacted in every entity: an unknown column of a claims or events file may hold an SSN too.
    const rescuedValue = (ref: string): string => redactSsn(`NULLIF(${ref}, '')`);
    const all = [...fields, '_overflow'];
    const spec = all.map((f) => `'${f}': 'VARCHAR'`).join(', ');
    const fieldCount = `(${all.map((f) => `CASE WHEN ${f} IS NULL THEN 0 ELSE 1 END`).join(' + ')})`;
    const ssnRef = byName.get('ssn');
    const ssn = ssnRef === undefined ? 'CAST(NULL AS VARCHAR)' : `NULLIF(${ssnRef}, '')`;
    // A value that holds an SSN is redacted by the read too (storedLandingValueSql), searched for the
    // row's own SSN digits, taken once per row (`_ssn_digits`, never stored; the hash is of them too:
    // taken again there, they cost the 1M-people patients read 0.3-1.1 CPU-s more). Whether the row
    // holds those digits in any value is found once per row (`_ssn_in_row`, on the values joined), so
    // each value is searched only in the rare rows where one does.
    const own = ssnRef !== undefined && isPatients;
    const valueRefs = ds.landingColumns
      .filter((c) => c !== 'ssn')
      .flatMap((c) => {
        const ref = byName.get(c);
        return ref === undefined ? [] : [[c, ref] as const];
      });
    const kept = valueRefs.map(
      ([c, ref]) =>
        `${storedLandingValueSql(d, file.entity, c, ref, own ? { digits: '_ssn_digits', inRow: '_ssn_in_row' } : undefined)} AS _${ref}`,
    );
    const withOwnSsn = (source: string): string =>
      own
        ? `(SELECT *, ${ssnInRowSql(
            '_ssn_digits',
            valueRefs.map(([, ref]) => ref),
          )} AS _ssn_in_row
            FROM (SELECT *, ${ssnDigitsSql(d, ssnRef ?? '')} AS _ssn_digits FROM ${source}))`
        : source;
    // The rescued JSON is built only for rows with a value in an unknown column, the raw line only for
    // malformed rows (a CASE evaluates its branch lazily).
    read = `SELECT ${kept.join(', ')}, ${fieldCount} AS _field_count,
        ${
          unknown.length
            ? `CASE WHEN ${unknown.map((u) => `NULLIF(${u.ref}, '') IS NULL`).join(' AND ')} THEN NULL ELSE json_object(${unknown
                .map((u) => `${sqlString(u.key)}, ${rescuedValue(u.ref)}`)
                .join(', ')}) END`
            : 'CAST(NULL AS JSON)'
        } AS _rescued_data,
        CASE WHEN ${fieldCount} <> ${fields.length} THEN ${redactSsn(`concat_ws(',', ${all.join(', ')})`)} END AS _raw_line
        ${isPatients ? `, ${own ? ssnDigitsHashSql(d, '_ssn_digits', ctx.ssnPads) : ssnHashSql(d, ssn, ctx.ssnPads)} AS _ssn_hash, ${ssnPresentSql(d, ssn)} AS _ssn_present` : ''}
      FROM ${withOwnSsn(`read_csv(${path}, header = true, columns = {${spec}}, delim = ',', quote = '"',
        escape = '"', nullstr = chr(0), strict_mode = false, null_padding = true, auto_detect = false,
        max_line_size = ${limit}${encoding}${insp.readerSkip > 0 ? `, skip = ${insp.readerSkip}` : ''}${insp.quotedLineBreaks > 0 ? ', parallel = false' : ''})`)}`;
    col = (c) => {
      const ref = byName.get(c);
      return ref === undefined ? 'CAST(NULL AS VARCHAR)' : `NULLIF(_${ref}, '')`;
    };
    headerFieldCount = fields.length;
    line = '$pos - $base + 2';
  }

  // A record measured over the ceiling: the read is tried at the ceiling first, away from the update.
  if (insp.longestRecord > MAX_LINE_LIMIT) {
    const tried = await probeFile(read);
    if (tried.unreadable !== undefined)
      return quarantineWholeFile(
        ctx,
        ds,
        file,
        `a record over the ${MAX_LINE_LIMIT} bytes a record may have (${tried.unreadable})`,
        problems,
      );
  }

  // The file's lineage, typed as the segment's columns are (so it is not cast again). Its text is the
  // same on every row: given to the Parquet writer as a one-value enumeration, each row is a dictionary
  // index, not a text to hash into the dictionary (the staged records read back as text). The 5.5 M-line
  // events file of a 1M-people first load was staged in 5.0-6.7 CPU-s (median 6.0) instead of 6.5-7.5
  // (6.9), six alternating runs each under the bulk mode's settings; the claims file (3.5 M) and the wide
  // patients file gained nothing measurable.
  const lineage: Record<string, string> = {
    _ingested_at: ctx.startedAtSql,
    _file_name: constantText(file.fileName),
    _file_path: constantText(file.filePath),
    _extracted_at: `TIMESTAMP '${file.extractedAt.toISOString().slice(0, 19).replace('T', ' ')}'`,
    _run_id: constantText(ctx.runId),
  };
  const landing = new Set(ds.landingColumns);
  /** A segment's columns over `row` (the staged record, or the checked row when written again). */
  const segmentSelect = (value: (column: string) => string): string =>
    segmentColumns(ds)
      .map(([c, type]) => `${lineage[c] ?? `CAST(${value(c)} AS ${type})`} AS ${d.ident(c)}`)
      .join(', ');
  // The staged record: the segment's columns (bronze-store.ts) over the read. Its line number is its
  // position unless the file is written again with them (below). A malformed line's fields are
  // searched for SSNs in every form, as its raw line is: its fields are not the header's (an SSN may
  // sit in any of them), and the segment keeps them, hidden by the view.
  const stageSql = `SELECT ${segmentSelect((c) => {
    if (landing.has(c))
      return c === 'ssn'
        ? 'NULL'
        : `CASE WHEN _field_count = ${headerFieldCount} THEN ${col(c)} ELSE ${redactSsn(col(c))} END`;
    if (c === 'ssn_hash') return '_ssn_hash';
    if (c === '_ssn_key_id') return `CASE WHEN _ssn_hash IS NOT NULL THEN ${sqlString(ctx.ssnKeyId)} END`;
    if (c === '_line_number') return 'NULL';
    return c;
  })} FROM (${read})`;

  /** The row as the expectations see it: landing columns, SSN facts, lineage checks, line number. */
  const checkedRow = (): string => {
    const cols = ds.landingColumns.map((c) => (c === 'ssn' ? 'CAST(NULL AS VARCHAR) AS ssn' : d.ident(c)));
    const ssn = isPatients ? ['ssn_hash', '_ssn_key_id', '_ssn_present'] : [];
    return `SELECT ${[...cols, ...ssn].join(', ')}, ${atBase(line)} AS _line_number, _rescued_data,
        _field_count, ${headerFieldCount} AS _header_field_count, _raw_line, _pos
      FROM ${raw} ${where ? `WHERE ${atBase(where)}` : ''}`;
  };
  const recordCols = [
    ...ds.landingColumns.filter((c) => c !== 'ssn'),
    ...(isPatients ? ['ssn_hash', '_ssn_key_id'] : []),
    '_rescued_data',
  ].map((c) => `'${c}', ${d.ident(c)}`);
  const wellFormed = '_field_count = _header_field_count';
  const rejected = rejectedSql(ds.expectations);
  const record = `CASE WHEN ${wellFormed} THEN json_object(${recordCols.join(', ')})
      ELSE json_object('raw_line', _raw_line) END`;
  const allPass = ds.expectations.length ? ds.expectations.map(passesSql).join(' AND ') : 'TRUE';
  // The file is read once, in parallel, into a staging relation that keeps the file's order, so a
  // record's position gives its line number. The insertion order stays kept for the file's other
  // statements too (the engine's setting is off for bulk work; an update runs with whatever it sets, and
  // the next update opens the database with the engine settings): inserted without it, rows are
  // appended by several threads, each to row groups of its own, and the transaction keeps every row
  // group until the commit. Each small insert of a file took about 0.3-0.75 MB of memory that way
  // (the quarantine, ingest_files), and an update of 360 files of 100 rows outgrew its memory limit.
  // Only a file of a row group or more is checked in parallel.
  //
  // A file whose records' line numbers are their positions (read as CSV, no blank line or quoted line
  // break) is staged straight into its segment, which becomes bronze as it is: the rows the check
  // rejects are listed as dropped. Any other file is staged in a working relation and its segment
  // written from it, with line numbers and without its rejected rows.
  const segments = segmentsOf(ctx);
  segments.count += 1;
  const segment = newSegment(db.path, ds.name, ctx.runId, segments.count);
  const direct = usable && !insp.lineShifts?.length;
  await db.run('SET preserve_insertion_order = true');
  let stagedRows: number;
  if (direct) {
    stagedRows = await db.writeParquet(segment.file, stageSql);
    await db.defineView(
      raw,
      `SELECT * EXCLUDE (file_row_number), file_row_number AS _pos
       FROM read_parquet(${sqlString(segment.file)}, file_row_number = true)`,
    );
  } else stagedRows = await db.materialize(raw, stageSql, { position: '_pos' });
  const large = stagedRows >= ROW_GROUP_ROWS;
  if (large) await db.run('SET preserve_insertion_order = false');
  // Staged in a file, the records' row numbers count from 0. Row ids of a table created in the open
  // transaction start at an engine offset; the staged records must be contiguous from it, or line
  // numbers would be wrong (checked, never assumed).
  const staged =
    direct || db.workingFiles
      ? { base: 0, span: stagedRows, n: stagedRows }
      : await db.one<{ base: string | number | null; span: number; n: number }>(
          `SELECT min(_pos) AS base, max(_pos) - min(_pos) + 1 AS span, COUNT(*) AS n FROM ${raw}`,
        );
  if (staged && staged.n > 0 && staged.span !== staged.n)
    throw new Error(
      `${file.fileName}: staged records are not contiguous (${staged.n} records over ${staged.span} row ids)`,
    );
  const base = String(staged?.base ?? 0);
  // The reader skips blank lines and reads a quoted line break as part of its record, so a record's
  // physical line is its position plus the extra lines before it, which the inspection listed. Trusted
  // only when the inspection counted the records the reader read (a stray quote inside a value makes
  // the scan see fewer); otherwise line numbers count records and the run says so.
  const exactLines = !usable || (insp.lineShifts !== undefined && insp.records === (staged?.n ?? 0));
  if (usable && exactLines && insp.lineShifts?.length)
    line = `${line} + CASE ${insp.lineShifts
      .toReversed()
      .map(([record, extra]) => `WHEN $pos - $base >= ${record} THEN ${extra}`)
      .join(' ')} ELSE 0 END`;
  const atBase = (sql: string): string => sql.replaceAll('$base', base).replaceAll('$pos', '_pos');
  // The check pass keeps the records that fail a rule (a small relation, not the file).
  await db.materialize(
    'bronze_check',
    `SELECT _line_number AS line, _pos AS pos, ${failedRulesSql(ds.expectations)} AS failed, ${rejected} AS rejected,
      CASE WHEN ${rejected} THEN ${record} END AS record
    FROM (${checkedRow()}) WHERE NOT (${allPass})`,
  );
  const check = await db.one<{ n: number; rejected: number; failures: { name: string; n: number }[] | null }>(
    `SELECT (SELECT COUNT(*) FROM ${raw} ${where ? `WHERE ${atBase(where)}` : ''}) AS n,
       (SELECT COUNT(*) FROM bronze_check WHERE rejected) AS rejected,
       (SELECT list({'name': name, 'n': c}) FROM (SELECT name, COUNT(*) AS c
          FROM (SELECT UNNEST(failed) AS name FROM bronze_check) GROUP BY name)) AS failures`,
  );
  const results = expectationResults(
    ds.name,
    ds.expectations,
    check?.n ?? 0,
    new Map((check?.failures ?? []).map((c) => [c.name, Number(c.n)])),
  );
  const rejecting = ds.expectations.filter((e) => e.action !== 'warn').map((e) => sqlString(e.name));
  const anyRejected = (check?.rejected ?? 0) > 0;
  if (anyRejected)
    await db.run(`INSERT INTO quarantine
      SELECT ${sqlString(ctx.runId)}, ${sqlString(ds.name)}, list_filter(failed, x -> x IN (${rejecting.join(', ')})),
        ${sqlString(file.fileName)}, line, record, ${ctx.startedAtSql}
      FROM bronze_check WHERE rejected`);

  // The segment: the staged file itself, or every record the check pass did not reject written again.
  let written: number;
  if (direct) written = (check?.n ?? 0) - (check?.rejected ?? 0);
  else {
    const keep = anyRejected
      ? `ANTI JOIN (SELECT line FROM bronze_check WHERE rejected) r ON r.line = s._line_number`
      : '';
    written = await db.writeParquet(
      segment.file,
      `SELECT ${segmentSelect((c) => `s.${d.ident(c)}`)} FROM (${checkedRow()}) s ${keep}`,
    );
  }
  if (large) await db.run('SET preserve_insertion_order = true');
  await db.drop(raw);
  if (written > 0) {
    db.syncFileBehind(segment.file);
    await listSegment(db, {
      dataset: ds.name,
      name: segment.name,
      fileName: file.fileName,
      runId: ctx.runId,
      rows: written,
      writtenAt: ctx.startedAtSql,
      ...(direct && anyRejected
        ? { dropped: '(SELECT list(pos ORDER BY pos) FROM bronze_check WHERE rejected)' }
        : {}),
    });
    const names = segments.byDataset.get(ds.name) ?? [];
    names.push(segment.name);
    segments.byDataset.set(ds.name, names);
  } else fs.rmSync(segment.file, { force: true });
  await db.drop('bronze_check');
  // Accounting from what bronze shows, not from the classification: records counted by the check
  // read must equal rows the segment shows plus rows now in the quarantine for this file and run.
  const counts = await db.one<{ out: number; q: number }>(
    `SELECT (${written > 0 ? `SELECT COUNT(*) FROM (${segmentRowsSql(ds, [segment.name])})` : '0'}) AS out,
       (SELECT COUNT(*) FROM quarantine WHERE run_id = $run AND dataset = $ds AND file_name = $file) AS q`,
    { run: ctx.runId, file: file.fileName, ds: ds.name },
  );
  const rowsRead = check?.n ?? 0;
  if (!exactLines) {
    problems.push(
      `${file.fileName}: ${insp.dataLines} non-empty line(s) but ${rowsRead} record(s) (a stray quote in a value, or many quoted line breaks): line numbers count records, not lines`,
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
  f.completedAt = new Date();
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

/**
 * A text constant as an enumeration of its one value, which reads back as the text. For file names,
 * paths and ids, which hold no NUL (an enumeration is declared with plain literals).
 */
function constantText(value: string): string {
  const literal = sqlString(value);
  return `CAST(${literal} AS ENUM(${literal}))`;
}
