/**
 * Query output of any size and any value: results streamed batch by batch (a process with a small heap
 * prints more JSON than it could hold), values a JS Date cannot hold, and the real `carelake` process
 * whose output is read by a reader that stops early (`carelake sql … | head`): no EPIPE stack trace,
 * the command's own exit code, and a run still does its work.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import {
  SSN_KEY_HEX,
  T0,
  hoursAfter,
  makeLakehouse,
  range,
  run,
  writeValidBatch,
  type Lakehouse,
} from './fixtures.ts';
import { cli } from './cli-helper.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/carelake.js');

let lake: Lakehouse;
const prevKey = process.env['CARELAKE_SSN_KEY'];
before(async () => {
  process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
  lake = makeLakehouse();
  writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
  await run(lake);
});
after(() => {
  if (prevKey === undefined) delete process.env['CARELAKE_SSN_KEY'];
  else process.env['CARELAKE_SSN_KEY'] = prevKey;
  lake.cleanup();
});

/** `carelake sql --format json` on the test lakehouse, parsed. */
const sqlJson = async (query: string): Promise<unknown> => {
  const r = await cli(['sql', '--db', lake.db, '--format', 'json', query]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
};

/**
 * Runs the CLI as a process whose standard output and error are pipes, each closed by its reader after
 * `keep` bytes (0: at once, before the process writes anything). Resolves with the exit code and
 * signal, and what the process wrote to stderr before the reader closed it.
 */
function runClosingReader(
  argv: string[],
  keep: number,
  nodeOptions: string[] = [],
): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeOptions, BIN, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CARELAKE_SSN_KEY: SSN_KEY_HEX },
    });
    const seen = { out: '', err: '' };
    for (const [name, stream] of [
      ['out', child.stdout],
      ['err', child.stderr],
    ] as const) {
      if (keep === Infinity) {
        stream.on('data', (d: Buffer) => (seen[name] += d.toString()));
        continue;
      }
      if (keep === 0) {
        stream.destroy();
        continue;
      }
      stream.on('data', (d: Buffer) => {
        seen[name] += d.toString();
        if (seen[name].length >= keep) stream.destroy();
      });
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, ...seen }));
  });
}

test('a run whose output nobody reads still ingests, commits and exits 0', async () => {
  writeValidBatch(lake.landing, hoursAfter(T0, 1), { patients: range(4, 7), firstKey: 100 });
  const r = await runClosingReader(['run', '--db', lake.db, '--landing', lake.landing], 0);
  assert.deepEqual([r.code, r.signal], [0, null]);
  assert.deepEqual(await sqlJson("SELECT COUNT(*) AS n FROM pipeline_runs WHERE status = 'COMPLETED'"), [
    { n: 2 },
  ]);
  assert.deepEqual(await sqlJson('SELECT COUNT(*) AS n FROM silver_patients'), [{ n: 6 }]);
});

test('sql, status and --help read by a reader that stops after the first bytes: exit 0, no stack trace', async () => {
  for (const argv of [
    ['sql', '--db', lake.db, "SELECT range AS n, repeat('x', 40) AS pad FROM range(200000)"],
    ['sql', '--db', lake.db, '--format', 'json', 'SELECT range AS n FROM range(200000)'],
    ['sql', '--db', lake.db, '--format', 'csv', 'SELECT range AS n FROM range(200000)'],
    ['status', '--db', lake.db],
    ['generate', '--help'],
  ]) {
    const r = await runClosingReader(argv, 8);
    assert.deepEqual([r.code, r.signal], [0, null], `${argv.join(' ')}: ${r.err}`);
    assert.doesNotMatch(r.err, /EPIPE|Error|at /, argv.join(' '));
  }
});

test('a result larger than the heap is printed in full: the process streams it', async () => {
  // About 160 MB of JSON for 400,000 rows: the whole result as objects and one string needs far more
  // than the 96 MB heap this process gets.
  const query =
    "SELECT range AS n, repeat('x', 300) AS pad, DATE '2020-01-01' + CAST(range % 1000 AS INTEGER) AS d FROM range(400000)";
  const r = await runClosingReader(['sql', '--db', lake.db, '--format', 'json', query], Infinity, [
    '--max-old-space-size=96',
  ]);
  assert.deepEqual([r.code, r.signal], [0, null], r.err.slice(0, 2000));
  const rows = JSON.parse(r.out) as { n: number; pad: string; d: string }[];
  assert.equal(rows.length, 400_000);
  assert.deepEqual(
    rows
      .map((x) => x.n)
      .sort((a, b) => a - b)
      .slice(0, 3),
    [0, 1, 2],
  );
  const last = rows.find((x) => x.n === 399_999);
  assert.deepEqual(last, { n: 399_999, pad: 'x'.repeat(300), d: '2022-09-26' });
});

test('table, csv and json of a large result: every row, one header, the row count', async () => {
  const query = 'SELECT range AS n, CAST(range AS VARCHAR) AS s FROM range(25000) ORDER BY range';
  const table = await cli(['sql', '--db', lake.db, query]);
  assert.equal(table.code, 0, table.err);
  const lines = table.out.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, 3), ['n      s', '-----  -----', '0      0']);
  assert.equal(lines.length, 25_000 + 3);
  assert.equal(lines.at(-2), '24999  24999');
  assert.equal(lines.at(-1), '(25000 rows)');
  const csv = await cli(['sql', '--db', lake.db, '--format', 'csv', query]);
  const csvLines = csv.out.trimEnd().split('\n');
  assert.equal(csvLines.length, 25_001);
  assert.deepEqual([csvLines[0], csvLines[1], csvLines.at(-1)], ['n,s', '0,0', '24999,24999']);
  const json = (await sqlJson(query)) as { n: number; s: string }[];
  assert.equal(json.length, 25_000);
  assert.deepEqual(json[24_999], { n: 24_999, s: '24999' });
});

test('a table wider than its first rows: later values are cut to the measured width with an ellipsis', async () => {
  const query =
    "SELECT range AS n, CASE WHEN range < 15000 THEN 'ab' ELSE 'abcdefgh' END AS s FROM range(20000) ORDER BY range";
  const r = await cli(['sql', '--db', lake.db, query]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines[2], '0      ab');
  assert.equal(lines.at(-2), '19999  a…');
});

test('no rows: csv and table still name the columns; json is an empty array', async () => {
  const query = "SELECT 1 AS a, 'x' AS b WHERE false";
  assert.equal((await cli(['sql', '--db', lake.db, '--format', 'csv', query])).out, 'a,b\n');
  assert.equal((await cli(['sql', '--db', lake.db, query])).out, 'a  b\n-  -\n(0 rows)\n');
  assert.deepEqual(await sqlJson(query), []);
});

test('values a JS Date cannot hold, times, intervals and bytes print as the engine writes them', async () => {
  const query = `SELECT 'infinity'::TIMESTAMP AS ti, '-infinity'::DATE AS di, DATE '294247-01-01' AS far,
    [DATE '2020-01-02', 'infinity'::DATE] AS dates, {'at': TIMESTAMP '2020-01-01 10:00:00'} AS st,
    TIME '10:11:12' AS t, INTERVAL 3 DAY AS iv, '\\x41\\x42'::BLOB AS b, 9007199254740993::BIGINT AS big`;
  assert.deepEqual(await sqlJson(query), [
    {
      ti: 'infinity',
      di: '-infinity',
      far: '294247-01-01',
      dates: ['2020-01-02', 'infinity'],
      st: { at: '2020-01-01T10:00:00Z' },
      t: '10:11:12',
      iv: '3 days',
      b: 'AB',
      big: '9007199254740993',
    },
  ]);
  const csv = await cli(['sql', '--db', lake.db, '--format', 'csv', query]);
  assert.equal(csv.code, 0, csv.err);
  assert.equal(
    csv.out.split('\n')[1],
    'infinity,-infinity,294247-01-01,"[""2020-01-02"",""infinity""]","{""at"":""2020-01-01T10:00:00Z""}",10:11:12,3 days,AB,9007199254740993',
  );
});

test('two columns of one name keep both values in table and csv', async () => {
  const query = 'SELECT 1 AS a, 2 AS a';
  assert.equal((await cli(['sql', '--db', lake.db, query])).out, 'a  a\n-  -\n1  2\n(1 row)\n');
  assert.equal((await cli(['sql', '--db', lake.db, '--format', 'csv', query])).out, 'a,a\n1,2\n');
});

test('a query with no statement: a clear error, exit code 1', async () => {
  for (const query of ['', '   ', ' -- nothing', '/* nothing */', ';']) {
    const r = await cli(['sql', '--db', lake.db, query]);
    assert.equal(r.code, 1, JSON.stringify(query));
    assert.match(r.err, /no statement to run: the query is empty or only comments/, JSON.stringify(query));
  }
});
