/**
 * Malformed landing files: each lands in the quarantine (or is reported) with a clear reason, never
 * crashes the run, and every file's rows add up (rows in = rows out + rows quarantined). Also: no raw
 * SSN anywhere in the database, whatever shape the patient files had.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { LANDING_COLUMNS } from '../../src/definitions/entities.ts';
import { formatLandingFileName } from '../../src/definitions/landing-files.ts';
import type { Database } from '../../src/engine/database.ts';
import { MAX_COLUMNS, MAX_LINE_LIMIT } from '../../src/runner/bronze.ts';
import {
  T0,
  claimRow,
  csvLine,
  csvText,
  makeLakehouse,
  patientRow,
  run,
  withDb,
  writeLandingFile,
  type Lakehouse,
  ageFile,
  lakehousesRemovedAfterwards,
} from './fixtures.ts';

const PC = LANDING_COLUMNS.patients;
const FILE = formatLandingFileName('patients', T0);

type QRow = {
  rules: string[];
  file_name: string;
  line_number: number | null;
  dataset: string;
  record: string;
};

interface Outcome {
  lake: Lakehouse;
  status: string;
  warnings: string[];
  bronze: {
    patient_id: string | null;
    _line_number: number;
    bmi: string | null;
    _rescued_data: string | null;
  }[];
  quarantine: QRow[];
  accounting: { rows_in: number; rows_out: number; rows_quarantined: number; rows_parked: number }[];
}

const lakes = lakehousesRemovedAfterwards();

/** Writes one patients file with `content`, runs the pipeline and reads back what bronze did with it. */
async function ingestPatients(content: string | Buffer): Promise<Outcome> {
  const lake = makeLakehouse();
  lakes.push(lake);
  // Delivered an hour ago: a file cut mid-line is final then, not still being written.
  ageFile(writeLandingFile(lake.landing, 'patients', T0, content));
  const r = await run(lake);
  return withDb(lake.db, async (db) => ({
    lake,
    status: r.status,
    warnings: r.warnings,
    bronze: await db.all(
      `SELECT patient_id, _line_number, bmi, CAST(_rescued_data AS VARCHAR) AS _rescued_data FROM bronze_patients ORDER BY _line_number`,
    ),
    quarantine: await db.all(
      `SELECT rules, file_name, line_number, dataset, CAST(record AS VARCHAR) AS record FROM quarantine WHERE dataset = 'bronze_patients' ORDER BY line_number`,
    ),
    accounting: await db.all(
      `SELECT rows_in, rows_out, rows_quarantined, rows_parked FROM run_accounting WHERE dataset = 'bronze_patients' AND file_name = '${FILE}'`,
    ),
  }));
}

/** The checks every case shares: COMPLETED, per-file accounting adds up, bronze + quarantine = data lines. */
function assertAddsUp(o: Outcome, dataLines: number): void {
  assert.equal(o.status, 'COMPLETED', `run status (warnings: ${o.warnings.join(' | ')})`);
  assert.equal(o.accounting.length, 1, 'one accounting row for the file');
  const a = o.accounting[0];
  assert.ok(a);
  assert.equal(a.rows_in, a.rows_out + a.rows_quarantined + a.rows_parked, 'rows in = out + quarantined');
  assert.equal(a.rows_in, dataLines, 'rows in = the data lines of the file');
  assert.equal(o.bronze.length + o.quarantine.length, dataLines, 'bronze + quarantine = data lines');
  assert.equal(a.rows_out, o.bronze.length);
  assert.equal(a.rows_quarantined, o.quarantine.length);
  for (const q of o.quarantine) assert.equal(q.file_name, FILE, 'the quarantine row names the file');
}

/** Every data line of the file (`lines`) quarantined as malformed_csv_row, none in bronze, all accounted. */
function assertAllMalformed(o: Outcome, lines: number[]): void {
  assertAddsUp(o, lines.length);
  assert.equal(o.bronze.length, 0);
  assert.deepEqual(
    o.quarantine.map((q) => q.line_number),
    lines,
  );
  for (const q of o.quarantine) assert.ok(q.rules.includes('malformed_csv_row'), q.rules.join(','));
}

const good = (n: number): string =>
  csvText(
    'patients',
    Array.from({ length: n }, (_, i) => patientRow(i + 1)),
  );

describe('malformed landing files', () => {
  test('truncated file: the last line cut mid-field is quarantined as malformed_csv_row with its line', async () => {
    const full = good(3);
    const content = full.slice(0, full.length - 12); // cuts into insurance_plan of line 4
    const o = await ingestPatients(content);
    assertAddsUp(o, 3);
    assert.deepEqual(
      o.bronze.map((b) => b._line_number),
      [2, 3],
    );
    assert.equal(o.quarantine.length, 1);
    assert.equal(o.quarantine[0]?.line_number, 4);
    assert.ok(o.quarantine[0]?.rules.includes('malformed_csv_row'));
    assert.match(o.quarantine[0]?.record ?? '', /raw_line/);
  });

  test('truncated inside a quoted field: the run completes and nothing is lost', async () => {
    const rows = [patientRow(1), patientRow(2, { address_line1: '2 Main St, Apt 5' })];
    const full = csvText('patients', rows);
    const content = full.slice(0, full.indexOf('Apt 5') - 1); // an open quote at end of file
    const o = await ingestPatients(content);
    assertAddsUp(o, 2);
    const lines = o.quarantine.map((q) => q.line_number);
    assert.ok(lines.includes(3), `line 3 quarantined (got ${JSON.stringify(o.quarantine)})`);
  });

  test('a header wider than the engine can read as columns: every line quarantined as malformed, the run completes', async () => {
    // 2,000 extra fields: each column is a term of the reading statements, and the engine refuses
    // expressions nested 1,000 deep, which failed the update.
    const extra = Array.from({ length: 2000 }, (_, i) => `x${i}`);
    const rows = [1, 2].map((i) =>
      [...PC.map((c) => patientRow(i)[c] ?? ''), ...extra.map(() => 'v')].join(','),
    );
    const o = await ingestPatients([[...PC, ...extra].join(','), ...rows].join('\n') + '\n');
    assertAllMalformed(o, [2, 3]);
    assert.ok(
      o.warnings.includes(
        `${FILE}: a header of more than ${MAX_COLUMNS} fields, the most a landing file may have`,
      ),
      o.warnings.join(' | '),
    );
    // No raw SSN in the quarantined lines (they are kept as redacted text).
    for (const q of o.quarantine) assert.doesNotMatch(q.record, /[0-9]{3}-[0-9]{2}-[0-9]{4}/);
  });

  test('wrong delimiter (semicolons): every line quarantined as malformed, with its line number', async () => {
    const content =
      [PC.join(';'), ...[1, 2].map((i) => PC.map((c) => patientRow(i)[c] ?? '').join(';'))].join('\n') + '\n';
    const o = await ingestPatients(content);
    assertAllMalformed(o, [2, 3]);
    assert.ok(o.warnings.some((w) => w.includes(FILE) && /delimiter|header/.test(w)));
  });

  test('UTF-8 BOM: the first column is still patient_id', async () => {
    const o = await ingestPatients('\uFEFF' + good(3));
    assertAddsUp(o, 3);
    assert.deepEqual(
      o.bronze.map((b) => b.patient_id),
      ['E00000001', 'E00000002', 'E00000003'],
    );
    assert.equal(o.quarantine.length, 0);
    assert.ok(o.bronze.every((b) => b._rescued_data === null));
  });

  test('CRLF line endings: values carry no trailing \\r, nothing quarantined', async () => {
    const o = await ingestPatients(good(3).replaceAll('\n', '\r\n'));
    assertAddsUp(o, 3);
    assert.equal(o.quarantine.length, 0);
    const last = await withDb(o.lake.db, (db) =>
      db.all<{ v: string }>('SELECT coverage_start_date AS v FROM bronze_patients'),
    );
    for (const r of last) assert.equal(r.v, '2020-01-01');
  });

  test('extra column: its value is kept in _rescued_data and rescued_data_null is counted as a warning', async () => {
    const cols = [...PC, 'loyalty_tier'];
    const o = await ingestPatients(
      csvText('patients', [patientRow(1, { loyalty_tier: 'gold' }), patientRow(2)], cols),
    );
    assertAddsUp(o, 2);
    assert.equal(o.quarantine.length, 0, 'warn only: nothing quarantined');
    assert.deepEqual(JSON.parse(o.bronze[0]?._rescued_data ?? 'null'), { loyalty_tier: 'gold' });
    assert.equal(o.bronze[1]?._rescued_data, null);
    assert.ok(o.warnings.some((w) => w.includes('loyalty_tier')));
    const failed = await withDb(o.lake.db, (db) =>
      db.all<{ failed: number; action: string }>(
        `SELECT CAST(x->>'failed_records' AS INTEGER) AS failed, x->>'action' AS action FROM (
           SELECT UNNEST(CAST(details->'flow_progress'->'data_quality'->'expectations' AS JSON[])) AS x
           FROM event_log WHERE event_type = 'flow_progress' AND (origin->>'dataset_name') = 'bronze_patients')
         WHERE x->>'name' = 'rescued_data_null'`,
      ),
    );
    assert.deepEqual(failed, [{ failed: 1, action: 'warn' }]);
  });

  test('extra columns without a name or with a repeated name: every value kept, under a key of its own', async () => {
    // Header: the contract, then '', 'note', '', 'note' and a second bmi.
    const header = [...PC, '', 'note', '', 'note', 'bmi'].join(',');
    const line = (i: number): string =>
      [...PC.map((c) => patientRow(i)[c] ?? ''), 'a', 'b', 'c', 'd', '99'].join(',');
    const o = await ingestPatients([header, line(1)].join('\n') + '\n');
    assertAddsUp(o, 1);
    const n = PC.length;
    assert.deepEqual(JSON.parse(o.bronze[0]?._rescued_data ?? 'null'), {
      [`_c${n}`]: 'a',
      [`note${n + 1}`]: 'b',
      [`_c${n + 2}`]: 'c',
      [`note${n + 3}`]: 'd',
      [`bmi${n + 4}`]: '99',
    });
    assert.equal(o.bronze[0]?.bmi, patientRow(1)['bmi'], 'the first bmi is the column');
  });

  test('missing columns: read as NULL and reported', async () => {
    const cols = PC.filter((c) => c !== 'bmi' && c !== 'email');
    const o = await ingestPatients(csvText('patients', [patientRow(1), patientRow(2)], cols));
    assertAddsUp(o, 2);
    assert.equal(o.bronze.length, 2);
    assert.ok(o.bronze.every((b) => b.bmi === null));
    const w = o.warnings.find((x) => x.includes('missing columns'));
    assert.ok(w?.includes('bmi') && w.includes('email') && w.includes(FILE), String(w));
    const logged = await withDb(o.lake.db, (db) =>
      db.all(`SELECT 1 FROM event_log WHERE level = 'WARN' AND message LIKE '%missing columns%bmi%'`),
    );
    assert.equal(logged.length, 1, 'the warning is in the event log');
  });

  test('too many and too few fields: malformed_csv_row with the line number', async () => {
    const content =
      csvText('patients', [patientRow(1)]) +
      csvLine([...PC.map((c) => patientRow(2)[c] ?? ''), 'surplus']) +
      '\n' +
      csvLine(PC.slice(0, 5).map((c) => patientRow(3)[c] ?? '')) +
      '\n' +
      csvLine(PC.map((c) => patientRow(4)[c] ?? '')) +
      '\n';
    const o = await ingestPatients(content);
    assertAddsUp(o, 4);
    assert.deepEqual(
      o.bronze.map((b) => b._line_number),
      [2, 5],
    );
    assert.deepEqual(
      o.quarantine.map((q) => [q.line_number, q.rules.includes('malformed_csv_row')]),
      [
        [3, true],
        [4, true],
      ],
    );
  });

  test('random binary bytes: quarantined as unreadable_file, the run completes', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 97 + 13) % 256));
    const o = await ingestPatients(bytes);
    assert.equal(o.status, 'COMPLETED', o.warnings.join(' | '));
    assert.equal(o.bronze.length, 0);
    assert.equal(o.quarantine.length, 1);
    assert.deepEqual(o.quarantine[0]?.rules, ['unreadable_file']);
    assert.equal(o.quarantine[0]?.file_name, FILE);
    assert.equal(o.quarantine[0]?.line_number, null, 'the whole file, not a line');
    assert.match(o.quarantine[0]?.record ?? '', /"size_bytes":4096/);
    const a = o.accounting[0];
    assert.ok(a);
    assert.equal(a.rows_in, a.rows_out + a.rows_quarantined);
  });

  test('a gzip file, a workbook and UTF-16 text under a landing name: quarantined as what they are', async () => {
    const csv = good(3);
    const zlib = await import('node:zlib');
    const cases: [Buffer, RegExp][] = [
      [zlib.gzipSync(Buffer.from(csv)), /a gzip-compressed file; decompress it before it lands/],
      [
        Buffer.concat([
          Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1'),
          zlib.deflateRawSync(csv),
        ]),
        /a ZIP archive or an Excel workbook; export the sheet as CSV/,
      ],
      [
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')]),
        /UTF-16 text; save it as UTF-8 CSV/,
      ],
    ];
    for (const [bytes, reason] of cases) {
      const o = await ingestPatients(bytes);
      assert.equal(o.status, 'COMPLETED', o.warnings.join(' | '));
      assert.equal(o.bronze.length, 0);
      assert.deepEqual(
        o.quarantine.map((q) => [q.rules, q.line_number]),
        [[['unreadable_file'], null]],
      );
      assert.match(o.quarantine[0]?.record ?? '', reason);
      assert.match(o.quarantine[0]?.record ?? '', new RegExp(`"size_bytes":${bytes.length}`));
      assert.ok(
        o.warnings.some((w) => w.startsWith(`${FILE}: unreadable (`) && reason.test(w)),
        o.warnings.join(' | '),
      );
      assert.ok(!o.warnings.some((w) => /no known column/.test(w)), 'no misleading header complaint');
      const a = o.accounting[0];
      assert.ok(a);
      assert.deepEqual([a.rows_in, a.rows_out, a.rows_quarantined], [1, 0, 1]);
    }
  });

  test('a header field holding NUL and terminal escape characters: read as an unknown column, the run completes', async () => {
    const hostile = 'x\0\u001b[2Jy';
    const content = csvText('patients', [patientRow(1), patientRow(2)])
      .trimEnd()
      .split('\n')
      .map((line, i) => `${line},${i === 0 ? hostile : 'v'}\n`)
      .join('');
    const o = await ingestPatients(content);
    assertAddsUp(o, 2);
    assert.equal(o.bronze.length, 2, JSON.stringify([o.quarantine, o.warnings]));
    for (const b of o.bronze) assert.deepEqual(JSON.parse(b._rescued_data ?? '{}'), { [hostile]: 'v' });
    assert.ok(
      o.warnings.some((w) => w.startsWith(`${FILE}: unknown columns ${hostile} kept in _rescued_data`)),
      o.warnings.join(' | '),
    );
  });

  test('a record longer than the default limit (one long line, or quoted line breaks): read whole, the run completes', async () => {
    // 12 MB in one field: over the 10 MB a record may have by default. Once on one line, once as
    // 4 million short lines inside quotes (no physical line is long, the record is).
    for (const huge of ['x'.repeat(12_000_000), 'ab\n'.repeat(4_000_000)]) {
      const content = csvText('patients', [
        patientRow(1),
        patientRow(2, { address_line1: huge }),
        patientRow(3),
      ]);
      const o = await ingestPatients(content);
      assert.equal(o.status, 'COMPLETED', o.warnings.join(' | '));
      assert.equal(o.bronze.length + o.quarantine.length, 3);
      assert.equal(o.bronze.length, 3, JSON.stringify(o.quarantine.map((q) => q.rules)));
      assert.ok(
        o.warnings.some((w) => w.startsWith(`${FILE}: a record of 120`) && /read with a limit of/.test(w)),
        o.warnings.join(' | '),
      );
      const kept = await withDb(o.lake.db, (db) =>
        db.all<{ n: number }>(`SELECT LENGTH(address_line1) AS n FROM bronze_patients ORDER BY _line_number`),
      );
      assert.ok(
        kept.some((k) => k.n === huge.length),
        'the long value is kept whole',
      );
    }
  });

  test(`a record over ${MAX_LINE_LIMIT} bytes: the file is quarantined as a whole, the run completes`, async () => {
    const content = good(2) + 'E00000009,' + 'y'.repeat(MAX_LINE_LIMIT) + '\n';
    const o = await ingestPatients(content);
    assert.equal(o.status, 'COMPLETED', o.warnings.join(' | '));
    assert.equal(o.bronze.length, 0);
    assert.deepEqual(
      o.quarantine.map((q) => [q.rules, q.line_number]),
      [[['unreadable_file'], null]],
    );
    assert.match(o.quarantine[0]?.record ?? '', new RegExp(`a record over the ${MAX_LINE_LIMIT} bytes`));
    const a = o.accounting[0];
    assert.ok(a);
    assert.equal(a.rows_in, a.rows_out + a.rows_quarantined);
  });

  test('a stray quote in a large file measures one record over the ceiling, yet every line is read', async () => {
    // A quote inside an unquoted value is text to the reader; counted as opening a quoted span it makes
    // the rest of the file one record of over 64 MB, so the file is tried at the ceiling, and reads.
    const rows = Array.from({ length: 360_000 }, (_, i) => patientRow(i + 1));
    const content = csvText('patients', rows).replace(',2 Main St,', ',2 O"Hara St,');
    assert.ok(content.length > MAX_LINE_LIMIT && content.includes(',2 O"Hara St,'));
    const o = await ingestPatients(content);
    assertAddsUp(o, rows.length);
    assert.equal(o.quarantine.length, 0, JSON.stringify(o.quarantine.slice(0, 3)));
  });

  test('blank lines and a quoted line break: the run completes and every line number is the physical line', async () => {
    // Before, a quoted line break failed the update (the engine's parallel reader refuses one with
    // null padding), and records after a blank line were numbered one per record.
    const [header, ...rows] = csvText('patients', [
      patientRow(1),
      patientRow(2, { address_line1: 'Apt 4\nMain St' }),
      patientRow(3, { bmi: 'heavy' }),
      patientRow(4, { patient_id: '' }),
    ]).split(/\n(?=E|,)/);
    const content = `${header}\n${rows[0]}\n\n\n${rows[1]}\n${rows[2]}\n\n${rows[3]}`;
    // 1 header, 2 E1, 3-4 blank, 5-6 E2 (quoted break), 7 E3, 8 blank, 9 the record without an id
    const o = await ingestPatients(content);
    assertAddsUp(o, 4);
    assert.deepEqual(
      o.bronze.map((b) => [b.patient_id, b._line_number]),
      [
        ['E00000001', 2],
        ['E00000002', 5],
        ['E00000003', 7],
      ],
    );
    assert.deepEqual(
      o.quarantine.map((q) => q.line_number),
      [9],
    );
    assert.ok(!o.warnings.some((w) => /line numbers count records/.test(w)), o.warnings.join(' | '));
  });

  test('blank lines before the header: the header is found, line numbers are physical', async () => {
    const o = await ingestPatients(`\n\n${good(2)}`);
    assertAddsUp(o, 2);
    assert.deepEqual(
      o.bronze.map((b) => [b.patient_id, b._line_number]),
      [
        ['E00000001', 4],
        ['E00000002', 5],
      ],
    );
  });

  test('blank lines before the header with mixed line endings: the header is still the header', async () => {
    // The reader takes its line ending from the first line break: after a bare LF it counts a CR LF
    // blank line as two lines, and skipping two took the empty line after the CR for the header.
    for (const [lead, lineEnd] of [
      ['\n\r\n', '\n'],
      ['\r\n\n', '\r\n'],
      ['\n\r\n\r\n', '\r\n'],
      ['\r\n\r\n\n', '\n'],
    ] as const) {
      const o = await ingestPatients(lead + good(2).replaceAll('\n', lineEnd));
      const what = JSON.stringify(lead);
      assertAddsUp(o, 2);
      assert.deepEqual(o.quarantine, [], `${what}: the header is not a quarantined row`);
      const blank = lead.split('\n').length - 1;
      assert.deepEqual(
        o.bronze.map((b) => [b.patient_id, b._line_number]),
        [
          ['E00000001', blank + 2],
          ['E00000002', blank + 3],
        ],
        what,
      );
      assert.ok(
        !o.warnings.some((w) => /line numbers count records/.test(w)),
        `${what}: ${o.warnings.join(' | ')}`,
      );
    }
  });

  test('blank lines only: no rows, nothing quarantined, reported as such', async () => {
    const o = await ingestPatients('\n\n\n');
    assertAddsUp(o, 0);
    assert.ok(
      o.warnings.some((w) => w === `${FILE}: blank lines only (no header, no rows)`),
      o.warnings.join(' | '),
    );
  });

  test('empty file: no rows, reported, recorded as ingested', async () => {
    const o = await ingestPatients('');
    assertAddsUp(o, 0);
    assert.ok(
      o.warnings.some((w) => w.includes(FILE) && /empty/.test(w)),
      o.warnings.join(' | '),
    );
    const files = await withDb(o.lake.db, (db) =>
      db.all<{ status: string; rows_read: number }>('SELECT status, rows_read FROM ingest_files'),
    );
    assert.deepEqual(files, [{ status: 'ingested', rows_read: 0 }]);
  });

  test('header-only file: no rows, nothing quarantined, no problem reported', async () => {
    const o = await ingestPatients(PC.join(',') + '\n');
    assertAddsUp(o, 0);
    assert.equal(o.quarantine.length, 0);
    assert.ok(!o.warnings.some((w) => w.includes(FILE)), o.warnings.join(' | '));
  });

  test('header case and white-space drift (`Patient_ID `) maps to the contract columns', async () => {
    const content = good(2).replace('patient_id,mrn,', 'Patient_ID , MRN ,').replace(',bmi,', ',BMI,');
    const o = await ingestPatients(content);
    assertAddsUp(o, 2);
    assert.equal(o.quarantine.length, 0);
    assert.deepEqual(
      o.bronze.map((b) => [b.patient_id, b.bmi, b._rescued_data]),
      [
        ['E00000001', '21.0', null],
        ['E00000002', '22.0', null],
      ],
    );
  });

  test('a non-UTF-8 byte in one line: the run completes and the file is accounted for', async () => {
    const content = Buffer.concat([
      Buffer.from(good(2)),
      Buffer.from('E00000003,MRN0000003,Jos'),
      Buffer.from([0xe9]), // Latin-1 é
      Buffer.from(
        ',Quill,1960-01-01,M,1 St,Austin,TX,73301,5125550000,j@x.com,,INS3,EHR_SYSTEM,20,no,0,1,PPO,2020-01-01\n',
      ),
    ]);
    const o = await ingestPatients(content);
    assert.equal(o.status, 'COMPLETED');
    const a = o.accounting[0];
    assert.ok(a);
    assert.equal(a.rows_in, a.rows_out + a.rows_quarantined);
    assert.equal(o.bronze.length + o.quarantine.length, a.rows_in);
  });

  test('Windows-1252 text (a curly apostrophe, byte 0x92): quarantined as a whole with its line and byte, the run completes', async () => {
    const content = Buffer.concat([
      Buffer.from(good(2)),
      Buffer.from('E00000003,MRN0000003,Jo,Quill,1960-01-01,M,12 O'),
      Buffer.from([0x92]), // Windows-1252 right single quotation mark; undefined in Latin-1
      Buffer.from('Hara St,Austin,TX,73301,5125550000,j@x.com,,INS3,EHR_SYSTEM,20,no,0,1,PPO,2020-01-01\n'),
      Buffer.from('E00000004,MRN0000004,Caf'),
      Buffer.from([0xe9]), // Latin-1 é, defined in both
      Buffer.from(
        ',Quill,1960-01-02,F,1 St,Austin,TX,73301,5125550001,k@x.com,,INS4,EHR_SYSTEM,20,no,0,1,PPO,2020-01-01\n',
      ),
    ]);
    const o = await ingestPatients(content);
    assert.equal(o.status, 'COMPLETED', o.warnings.join(' | '));
    assert.equal(o.bronze.length, 0);
    assert.deepEqual(
      o.quarantine.map((q) => [q.rules, q.file_name, q.line_number]),
      [[['unreadable_file'], FILE, null]],
    );
    const reason =
      /not UTF-8, and line 4 holds the byte 0x92, which Latin-1 does not define \(Windows-1252 text\?\); convert the file to UTF-8/;
    assert.match(o.quarantine[0]?.record ?? '', reason);
    assert.ok(
      o.warnings.some((w) => w.startsWith(`${FILE}: unreadable (`) && reason.test(w)),
      o.warnings.join(' | '),
    );
    const a = o.accounting[0];
    assert.ok(a);
    assert.deepEqual([a.rows_in, a.rows_out, a.rows_quarantined], [1, 0, 1]);
  });

  test('a malformed claims file next to good files does not disturb them', async () => {
    const lake = makeLakehouse();
    lakes.push(lake);
    writeLandingFile(lake.landing, 'patients', T0, good(3));
    writeLandingFile(
      lake.landing,
      'claims',
      T0,
      csvText('claims', [claimRow(1, 1), claimRow(2, 2)]) + 'C00000003,E00000003,12.00\n',
    );
    const r = await run(lake);
    assert.equal(r.status, 'COMPLETED');
    const rows = await withDb(lake.db, (db) =>
      db.all<{ t: string; n: number }>(
        `SELECT 'bronze_patients' AS t, COUNT(*) AS n FROM bronze_patients UNION ALL
         SELECT 'gold_claims', COUNT(*) FROM gold_claims UNION ALL
         SELECT 'q', COUNT(*) FROM quarantine WHERE dataset = 'bronze_claims' AND line_number = 4 AND list_contains(rules, 'malformed_csv_row')
         ORDER BY 1`,
      ),
    );
    assert.deepEqual(rows, [
      { t: 'bronze_patients', n: 3 },
      { t: 'gold_claims', n: 2 },
      { t: 'q', n: 1 },
    ]);
  });

  test('a first load of several files with malformed lines: silver reads exactly the bronze rows of each file', async () => {
    // A first load runs in bulk mode, where silver stages from each file's staged records (without the
    // rejected lines) instead of from the bronze tables.
    const lake = makeLakehouse();
    lakes.push(lake);
    const later = new Date(T0.getTime() + 3_600_000);
    writeLandingFile(lake.landing, 'patients', T0, good(4) + 'E00000009,too,few\n');
    writeLandingFile(
      lake.landing,
      'patients',
      later,
      csvText(
        'patients',
        [5, 6, 7].map((i) => patientRow(i)),
      ) + 'E00000010\n',
    );
    writeLandingFile(
      lake.landing,
      'claims',
      T0,
      csvText('claims', [claimRow(1, 1), claimRow(2, 2)]) + 'C9,E1\n',
    );
    writeLandingFile(
      lake.landing,
      'claims',
      later,
      csvText('claims', [claimRow(4, 5), claimRow(5, 6), claimRow(6, 7)]) + 'C00000003,x\n',
    );
    const r = await run(lake);
    assert.equal(r.status, 'COMPLETED', r.warnings.join(' | '));
    await withDb(lake.db, async (db) => {
      const perFile = await db.all<{
        entity: string;
        file_name: string;
        bronze_out: number;
        silver_in: number;
      }>(
        `SELECT replace(b.dataset, 'bronze_', '') AS entity, b.file_name, b.rows_out AS bronze_out, s.rows_in AS silver_in
         FROM run_accounting b JOIN run_accounting s ON s.file_name = b.file_name AND s.dataset = replace(b.dataset, 'bronze_', 'silver_')
         WHERE b.dataset IN ('bronze_patients', 'bronze_claims') ORDER BY 1, 2`,
      );
      assert.equal(perFile.length, 4, 'two files per entity');
      for (const f of perFile)
        assert.equal(f.silver_in, f.bronze_out, `${f.file_name}: silver reads the bronze rows`);
      assert.deepEqual(
        perFile.map((f) => f.bronze_out),
        [2, 3, 4, 3],
        'the malformed lines stayed out of bronze',
      );
      // Silver's rows carry the bronze rows' lines.
      const lines = await db.all<{ n: number }>(
        `SELECT COUNT(*) AS n FROM (
           SELECT _file_name, _line_number FROM silver_patient_sources
           EXCEPT SELECT _file_name, _line_number FROM bronze_patients)`,
      );
      assert.deepEqual(lines, [{ n: 0 }]);
      assert.deepEqual(
        await db.all(`SELECT COUNT(*) AS n FROM silver_claims s JOIN bronze_claims b USING (claim_id)`),
        [{ n: 5 }],
      );
    });
  });
  test('a first load of many small files gives the rows of the same records in one file per entity', async () => {
    // Many small files of a first load are staged into one working file per entity before silver reads
    // them (instead of a view of one SELECT per file): what silver and gold hold must not depend on it.
    const patients = Array.from({ length: 30 }, (_, j) => patientRow(j + 1));
    const claims = Array.from({ length: 60 }, (_, j) => claimRow(j + 1, (j % 30) + 1));
    claims[7] = { ...claimRow(8, 8), claim_amount: 'twelve' };
    const [one, many] = [makeLakehouse(), makeLakehouse()];
    if (!one || !many) throw new Error('two lakehouses');
    lakes.push(one, many);
    writeLandingFile(one.landing, 'patients', T0, csvText('patients', patients) + 'E00000099,too,few\n');
    writeLandingFile(one.landing, 'claims', T0, csvText('claims', claims));
    for (let f = 0; f < 10; f++) {
      const tail = f === 9 ? 'E00000099,too,few\n' : '';
      writeLandingFile(
        many.landing,
        'patients',
        T0,
        csvText('patients', patients.slice(f * 3, f * 3 + 3)) + tail,
        f + 1,
      );
    }
    for (let f = 0; f < 12; f++)
      writeLandingFile(many.landing, 'claims', T0, csvText('claims', claims.slice(f * 5, f * 5 + 5)), f + 1);
    for (const lake of [one, many]) assert.equal((await run(lake)).status, 'COMPLETED');
    const contents = (lake: Lakehouse): Promise<unknown[]> =>
      withDb(lake.db, (db) =>
        db.all(
          `SELECT 'silver_claims' AS t, COUNT(*) AS n, SUM(hash(claim_id, patient_id, claim_amount, claim_date, diagnosis_code, procedure_code, claim_status))::VARCHAR AS h FROM silver_claims
           UNION ALL SELECT 'silver_patients', COUNT(*), SUM(hash(patient_id, mrn, age_years, sex, region, data_quality_score))::VARCHAR FROM silver_patients
           UNION ALL SELECT 'gold_patients', COUNT(*), SUM(hash(patient_id, effective_from, is_current))::VARCHAR FROM gold_patients
           UNION ALL SELECT 'links', COUNT(*), SUM(hash(source_system, source_patient_id, patient_id))::VARCHAR FROM silver_resolved_identity_resolution
           UNION ALL SELECT 'quarantine', COUNT(*), SUM(hash(dataset, rules, record::VARCHAR))::VARCHAR FROM quarantine
           UNION ALL SELECT dataset, SUM(rows_in), SUM(rows_out)::VARCHAR || '/' || SUM(rows_quarantined) FROM run_accounting GROUP BY dataset
           ORDER BY ALL`,
        ),
      );
    const [a, b] = [await contents(one), await contents(many)];
    assert.deepEqual(b, a);
    assert.ok(
      a.some(
        (r) => JSON.stringify(r) === JSON.stringify({ t: 'silver_claims', n: 59, h: (r as { h: string }).h }),
      ),
      `59 claims in silver (one quarantined): ${JSON.stringify(a)}`,
    );
    await withDb(many.db, async (db) => {
      // Silver read each small file's bronze rows, once: per file, rows in = the bronze rows out.
      const perFile = await db.all<{ b: number; s: number }>(
        `SELECT b.rows_out AS b, s.rows_in AS s FROM run_accounting b
         JOIN run_accounting s ON s.file_name = b.file_name AND s.dataset = 'silver_claims'
         WHERE b.dataset = 'bronze_claims'`,
      );
      assert.equal(perFile.length, 12);
      for (const f of perFile) assert.equal(f.s, f.b);
      assert.equal(
        perFile.reduce((n, f) => n + f.s, 0),
        60,
      );
    });
  });
});

/** Every VARCHAR / JSON / VARCHAR[] column of every base table, as text. */
async function textColumns(db: Database): Promise<{ table: string; column: string }[]> {
  return db.all<{ table: string; column: string }>(
    `SELECT c.table_name AS "table", c.column_name AS "column" FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
     WHERE t.table_type = 'BASE TABLE' AND c.table_schema = 'main'
       AND (c.data_type LIKE 'VARCHAR%' OR c.data_type = 'JSON' OR c.data_type LIKE '%[]')
     ORDER BY 1, 2`,
  );
}

describe('no raw SSN anywhere', () => {
  const ssns = ['912-34-5678', '923-45-6789', '934-56-7890', '945-67-8901', '956-78-9012', '967-89-0123'];
  const forms = ssns.flatMap((s) => [s, s.replaceAll('-', '')]);

  test('after runs with malformed lines, unknown columns and unreadable files holding SSNs', async () => {
    const lake = makeLakehouse();
    lakes.push(lake);
    const [s0, s1, s2, s3, s4, s5] = ssns.map((s) => s);
    const cols = [...PC.slice(0, 13), 'legacy_ssn', ...PC.slice(13)];
    const rows = [
      patientRow(1, { ssn: s0 ?? '', legacy_ssn: (s1 ?? '').replaceAll('-', '') }),
      patientRow(2, { ssn: (s2 ?? '').replaceAll('-', ''), legacy_ssn: s3 ?? '' }),
    ];
    const withUnknown = csvText('patients', rows, cols);
    // Malformed lines: too few fields (dashed SSN), too many (undashed), adjacent SSNs, SSN in a TEST row.
    const malformed =
      csvLine([...PC.slice(0, 12).map((c) => patientRow(3)[c] ?? ''), s4 ?? '']) +
      '\n' +
      csvLine([...PC.map((c) => patientRow(4, { ssn: (s5 ?? '').replaceAll('-', '') })[c] ?? ''), 'x', 'y']) +
      '\n' +
      csvLine([
        ...PC.slice(0, 12).map((c) => patientRow(5)[c] ?? ''),
        s0 ?? '',
        (s1 ?? '').replaceAll('-', ''),
      ]) +
      '\n' +
      csvLine(PC.map((c) => patientRow(6, { first_name: 'TEST', ssn: s2 ?? '' })[c] ?? '')) +
      '\n';
    writeLandingFile(lake.landing, 'patients', T0, withUnknown + malformed);
    // A headerless file (its first line is data with an SSN) and a semicolon file with SSNs.
    writeLandingFile(
      lake.landing,
      'patients',
      T0,
      csvText('patients', [patientRow(7, { ssn: s3 ?? '' })])
        .split('\n')
        .slice(1)
        .join('\n') +
        csvLine(PC.map((c) => patientRow(8, { ssn: s4 ?? '' })[c] ?? '')) +
        '\n',
      2,
    );
    writeLandingFile(
      lake.landing,
      'patients',
      T0,
      [PC.join(';'), PC.map((c) => patientRow(9, { ssn: s5 ?? '' })[c] ?? '').join(';')].join('\n') + '\n',
      3,
    );
    // Not UTF-8, with an SSN on the bad line (an engine error message may quote the line).
    writeLandingFile(
      lake.landing,
      'patients',
      T0,
      Buffer.concat([
        Buffer.from(PC.join(',') + '\n'),
        Buffer.from(`E00000010,MRN1,Jos`),
        Buffer.from([0xe9, 0xff]),
        Buffer.from(
          `,X,1960-01-01,M,1 St,Austin,TX,73301,5125550000,j@x.com,${s0 ?? ''},INS,EHR_SYSTEM,20,no,0,1,PPO,2020-01-01\n`,
        ),
      ]),
      4,
    );
    const r1 = await run(lake);
    assert.equal(r1.status, 'COMPLETED', r1.error);
    // A second batch with another SSN for a known patient.
    writeLandingFile(
      lake.landing,
      'patients',
      new Date(T0.getTime() + 3_600_000),
      csvText('patients', [patientRow(1, { ssn: s1 ?? '' })]),
    );
    const r2 = await run(lake);
    assert.equal(r2.status, 'COMPLETED', r2.error);
    for (const w of [...r1.warnings, ...r2.warnings])
      for (const s of forms) assert.ok(!w.includes(s), `warning leaks ${s}: ${w}`);

    // Every text column of every table.
    const hits = await withDb(lake.db, async (db) => {
      const found: string[] = [];
      const bronzeRows = await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM bronze_patients');
      assert.ok((bronzeRows?.n ?? 0) >= 2, 'the good rows were ingested');
      const rescued = await db.one<{ n: number }>(
        'SELECT COUNT(*) AS n FROM bronze_patients WHERE _rescued_data IS NOT NULL',
      );
      assert.equal(rescued?.n, 2, 'the unknown column was rescued (redacted)');
      for (const { table, column } of await textColumns(db)) {
        const where = forms.map((s) => `contains(CAST("${column}" AS VARCHAR), '${s}')`).join(' OR ');
        const n = await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM "${table}" WHERE ${where}`);
        if ((n?.n ?? 0) > 0) found.push(`${table}.${column}: ${n?.n}`);
      }
      return found;
    });
    assert.deepEqual(hits, [], 'raw SSNs in the database');

    // The raw bytes of the database file (and the WAL, if any).
    for (const f of [lake.db, `${lake.db}.wal`]) {
      if (!fs.existsSync(f)) continue;
      const bytes = fs.readFileSync(f);
      for (const s of forms) assert.equal(bytes.indexOf(s), -1, `${s} in the bytes of ${f}`);
    }
  });
});
