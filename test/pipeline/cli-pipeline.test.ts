/**
 * The pipeline CLI (`run`, `sql`, `status`): output formats, JSON shapes and usage errors (exit code 2).
 * Driven through `main()` when the whole CLI is there, else through the pipeline commands alone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  SSN_KEY_HEX,
  T0,
  ageFile,
  csvText,
  hoursAfter,
  makeLakehouse,
  patientRow,
  range,
  writeLandingFile,
  writeValidBatch,
  type Lakehouse,
} from './fixtures.ts';

import { cli } from './cli-helper.ts';

let lake: Lakehouse;
const prevKey = process.env['CARELAKE_SSN_KEY'];
before(() => {
  process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
  lake = makeLakehouse();
  writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
});
after(() => {
  if (prevKey === undefined) delete process.env['CARELAKE_SSN_KEY'];
  else process.env['CARELAKE_SSN_KEY'] = prevKey;
  lake.cleanup();
});

/** The control characters of `text` other than line feeds. */
const controlCharacters = (text: string): string =>
  [...text].filter((c) => c !== '\n' && (c < ' ' || (c >= '\u007f' && c <= '\u009f'))).join('');

/** `carelake sql --format json` on the test lakehouse. */
const sqlJson = (query: string): ReturnType<typeof cli> =>
  cli(['sql', '--db', lake.db, '--format', 'json', query]);

describe('carelake CLI (pipeline commands)', () => {
  test('sql and status before any run: a clear error, exit code 1', async () => {
    const r = await cli(['sql', '--db', lake.db, 'SELECT 1']);
    assert.equal(r.code, 1);
    assert.match(r.err, /no lakehouse|run/);
  });

  test('sql, status and changes on a file that is not a database: it says why, not "no lakehouse"', async () => {
    const notDb = path.join(path.dirname(lake.db), 'notes.duckdb');
    fs.writeFileSync(notDb, 'not a database\n');
    for (const argv of [
      ['sql', 'SELECT 1'],
      ['status'],
      ['changes', 'silver_claims', '--from-version', '0'],
    ]) {
      const r = await cli([...argv, '--db', notDb]);
      assert.equal(r.code, 1, argv.join(' '));
      assert.match(
        r.err,
        /notes\.duckdb is not a DuckDB database, so it is no carelake lakehouse/,
        argv.join(' '),
      );
      assert.doesNotMatch(r.err, /no lakehouse/, argv.join(' '));
    }
    assert.equal(fs.readFileSync(notDb, 'utf8'), 'not a database\n', 'the file is left as it was');
  });

  test('run --format json: {run, lakehouse} with status, files, flows, accounting', async () => {
    const r = await cli([
      'run',
      '--db',
      lake.db,
      '--landing',
      lake.landing,
      '--orphan-grace',
      '0',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.err);
    const parsed = JSON.parse(r.out) as {
      run: Record<string, unknown> & { files: { fileName: string; action: string }[]; accounting: unknown[] };
      lakehouse: { tables: { table: string; rows: number }[] };
    };
    assert.equal(parsed.run['status'], 'COMPLETED');
    assert.equal(typeof parsed.run['runId'], 'string');
    assert.equal(parsed.run.files.length, 3);
    assert.ok(parsed.run.files.every((f) => f.action === 'ingested'));
    assert.ok(Array.isArray(parsed.run['flows']));
    assert.ok(parsed.run.accounting.length >= 9);
    const tables = new Map(parsed.lakehouse.tables.map((t) => [t.table, t.rows]));
    assert.equal(tables.get('bronze_patients'), 6);
    assert.equal(tables.get('gold_claims'), 6);
  });

  test('run (text) again: a readable report, nothing new ingested', async () => {
    const r = await cli(['run', '--db', lake.db, '--landing', lake.landing]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /COMPLETED/);
  });

  test('sql --format table|csv|json', async () => {
    const q =
      "SELECT patient_id, source_system FROM bronze_patients WHERE source_system = 'EHR_SYSTEM' ORDER BY 1";
    const table = await cli(['sql', '--db', lake.db, q]);
    assert.equal(table.code, 0, table.err);
    const lines = table.out.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^patient_id\s+source_system$/);
    assert.match(lines[1] ?? '', /^-+\s+-+$/);
    assert.match(lines[2] ?? '', /^E00000001\s+EHR_SYSTEM$/);
    assert.equal(lines.at(-1), '(3 rows)');

    const csv = await cli(['sql', '--db', lake.db, '--format', 'csv', q]);
    assert.equal(csv.code, 0, csv.err);
    assert.equal(
      csv.out,
      'patient_id,source_system\nE00000001,EHR_SYSTEM\nE00000002,EHR_SYSTEM\nE00000003,EHR_SYSTEM\n',
    );

    const json = await cli(['sql', '--db', lake.db, '--format', 'json', q]);
    assert.equal(json.code, 0, json.err);
    assert.deepEqual(JSON.parse(json.out), [
      { patient_id: 'E00000001', source_system: 'EHR_SYSTEM' },
      { patient_id: 'E00000002', source_system: 'EHR_SYSTEM' },
      { patient_id: 'E00000003', source_system: 'EHR_SYSTEM' },
    ]);
    const empty = await cli(['sql', '--db', lake.db, '--format', 'json', 'SELECT 1 AS x WHERE false']);
    assert.deepEqual(JSON.parse(empty.out), []);
  });

  test('sql --format table shows control characters as escapes; csv and json keep the text', async () => {
    const q = "SELECT 'a' || chr(27) || '[2J' || chr(10) || 'b' || chr(9) || chr(0) || chr(8238) || 'c' AS v";
    const table = await cli(['sql', '--db', lake.db, q]);
    assert.equal(table.code, 0, table.err);
    assert.equal(table.out.split('\n')[2], 'a\\u001b[2J\\nb\\t\\u0000\\u202ec');
    assert.equal(controlCharacters(table.out), '', 'no escape sequence reaches the terminal');
    const json = await cli(['sql', '--db', lake.db, '--format', 'json', q]);
    assert.deepEqual(JSON.parse(json.out), [{ v: 'a\u001b[2J\nb\t\u0000\u202ec' }]);
  });

  test('sql with a bad query: exit code 1, the error on stderr', async () => {
    const r = await cli(['sql', '--db', lake.db, 'SELECT * FROM no_such_table']);
    assert.equal(r.code, 1);
    assert.match(r.err, /query failed/);
    assert.equal(r.out, '');
  });

  test('sql is read only', async () => {
    const r = await cli(['sql', '--db', lake.db, 'DELETE FROM bronze_patients']);
    assert.equal(r.code, 1);
    const n = await sqlJson('SELECT COUNT(*) AS n FROM bronze_patients');
    assert.deepEqual(JSON.parse(n.out), [{ n: 6 }]);
  });

  test('sql reads the lakehouse only: no other file is read or written, no other database attached', async () => {
    // A landing file holds raw SSNs: reading it through `sql` would bypass the hashing and the audit.
    const patientsFile = fs.readdirSync(lake.landing).find((f) => f.startsWith('patients'));
    assert.ok(patientsFile);
    const landingFile = path.join(lake.landing, patientsFile);
    const out = path.join(lake.dir, 'written.csv');
    const copy = path.join(lake.dir, 'copy.duckdb');
    fs.copyFileSync(lake.db, copy);
    for (const q of [
      `SELECT * FROM read_csv('${landingFile}')`,
      `COPY (SELECT * FROM gold_patients) TO '${out}'`,
      `ATTACH '${copy}' AS other (READ_ONLY)`,
    ]) {
      const r = await cli(['sql', '--db', lake.db, q]);
      assert.equal(r.code, 1, q);
      assert.match(r.err, /disabled by configuration/, q);
    }
    assert.equal(fs.existsSync(out), false, 'nothing written');
    const n = await sqlJson('SELECT COUNT(*) AS n FROM fact_claims');
    assert.equal(n.code, 0, n.err);
    assert.ok(((JSON.parse(n.out) as { n: number }[])[0]?.n ?? 0) > 0, 'the lakehouse views still read');
  });

  test('status text and json', async () => {
    const text = await cli(['status', '--db', lake.db]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /Tables:/);
    assert.match(text.out, /bronze_patients\s+6/);
    assert.match(text.out, /Last runs:/);
    assert.match(text.out, /Quarantine by rule:/);
    const json = await cli(['status', '--db', lake.db, '--format', 'json']);
    assert.equal(json.code, 0, json.err);
    const s = JSON.parse(json.out) as Record<string, unknown> & { lastRuns: { status: string }[] };
    for (const k of ['tables', 'expectations', 'quarantine', 'parked', 'lastRuns']) assert.ok(k in s, k);
    assert.equal(s.lastRuns.length, 2);
    assert.ok(s.lastRuns.every((r) => r.status === 'COMPLETED'));
  });

  test('bad --format and bad --orphan-grace: exit code 2, nothing run', async () => {
    for (const argv of [
      ['sql', '--db', lake.db, '--format', 'xml', 'SELECT 1'],
      ['status', '--db', lake.db, '--format', 'csv'],
      ['run', '--db', lake.db, '--landing', lake.landing, '--format', 'yaml'],
      ['run', '--db', lake.db, '--landing', lake.landing, '--orphan-grace', '-1'],
      ['run', '--db', lake.db, '--landing', lake.landing, '--orphan-grace', 'soon'],
    ]) {
      const r = await cli(argv);
      assert.equal(r.code, 2, `${argv.join(' ')} → ${r.code} ${r.err}`);
      assert.match(r.err, /--format|--orphan-grace/);
      assert.equal(r.out, '');
    }
    const runs = await cli([
      'sql',
      '--db',
      lake.db,
      '--format',
      'json',
      'SELECT COUNT(*) AS n FROM pipeline_runs',
    ]);
    assert.deepEqual(JSON.parse(runs.out), [{ n: 2 }], 'no run was started by a rejected command');
  });

  test('run (text): a warning quoting a landing file shows its control characters as escapes', async () => {
    const content = csvText('patients', [patientRow(40)])
      .trimEnd()
      .split('\n')
      .map((line, i) => `${line},${i === 0 ? 'note\u001b]0;owned\u0007' : 'x'}\n`)
      .join('');
    ageFile(writeLandingFile(lake.landing, 'patients', hoursAfter(T0, 5), content));
    const r = await cli(['run', '--db', lake.db, '--landing', lake.landing]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /warning: patients_\S+: unknown columns note\\u001b\]0;owned\\u0007 kept in _rescued_data/,
    );
    assert.equal(controlCharacters(r.out + r.err), '', 'no control character reaches the terminal');
  });
});
