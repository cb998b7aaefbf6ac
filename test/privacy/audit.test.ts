import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  appendAudit,
  auditHead,
  auditPathFor,
  GENESIS,
  principal,
  readAudit,
  recordIdentityDecision,
  verifyAudit,
} from '../../src/privacy/audit.ts';
import { Database } from '../../src/engine/database.ts';
import { cli } from '../pipeline/cli-helper.ts';
import {
  SSN_KEY_HEX,
  T0,
  hoursAfter,
  makeLakehouse,
  query,
  range,
  run,
  writeValidBatch,
  type Lakehouse,
} from '../pipeline/fixtures.ts';

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-audit-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function trail(name: string, n: number): string {
  const file = path.join(dir, `${name}.audit.jsonl`);
  for (let i = 0; i < n; i++)
    appendAudit(
      file,
      { action: `act${i}`, rows: i, details: { i, text: `entry ${i}` } },
      { CARELAKE_PRINCIPAL: 'tester' },
    );
  return file;
}

test('entries chain: each holds the hash of the previous one; the head file names the newest', () => {
  const file = trail('chain', 4);
  const entries = readAudit(file);
  assert.equal(entries.length, 4);
  assert.equal(entries[0]?.prev, GENESIS);
  for (let i = 1; i < 4; i++) assert.equal(entries[i]?.prev, entries[i - 1]?.hash);
  assert.deepEqual(
    entries.map((e) => e.seq),
    [1, 2, 3, 4],
  );
  assert.equal(entries[0]?.who, 'tester');
  assert.deepEqual(auditHead(file), { seq: 4, hash: entries[3]?.hash });
  const v = verifyAudit(file);
  assert.equal(v.ok, true, v.problems.join('; '));
  assert.equal(v.entries, 4);
});

test('verify fails after a one-byte change anywhere in any entry', () => {
  const file = trail('bytes', 3);
  const original = fs.readFileSync(file);
  let checked = 0;
  for (let i = 0; i < original.length; i++) {
    const copy = Buffer.from(original);
    // Flip to a different printable byte (a newline stays a newline-sized change: it splits or joins lines).
    copy[i] = copy[i] === 0x30 ? 0x31 : 0x30;
    fs.writeFileSync(file, copy);
    assert.equal(
      verifyAudit(file).ok,
      false,
      `byte ${i} (${String.fromCharCode(original[i] ?? 0)}) changed undetected`,
    );
    checked += 1;
  }
  fs.writeFileSync(file, original);
  assert.equal(verifyAudit(file).ok, true);
  assert.ok(checked > 300);
});

test('verify fails after deleting the first, a middle or the newest entry, and after reordering', () => {
  const file = trail('delete', 5);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  const write = (ls: string[]): void => fs.writeFileSync(file, ls.join('\n') + '\n');
  for (const drop of [0, 2, 4]) {
    write(lines.filter((_, i) => i !== drop));
    const v = verifyAudit(file);
    assert.equal(v.ok, false, `deleting entry ${drop + 1} went undetected`);
  }
  write([lines[0], lines[2], lines[1], lines[3], lines[4]] as string[]);
  assert.match(verifyAudit(file).problems.join('\n'), /reordered/);
  write(lines);
  assert.equal(verifyAudit(file).ok, true);
  fs.rmSync(file.replace(/\.jsonl$/, '.head'));
  assert.match(verifyAudit(file).problems.join('\n'), /head file/);
});

test('a damaged newest entry stops further appends; an empty trail verifies', () => {
  const file = trail('damaged', 2);
  fs.appendFileSync(file, '{"broken": true}\n');
  assert.throws(() => appendAudit(file, { action: 'x' }), /damaged/);
  assert.equal(verifyAudit(path.join(dir, 'none.audit.jsonl')).ok, true);
  assert.deepEqual(readAudit(path.join(dir, 'none.audit.jsonl')), []);
});

test('a line cut short by a crash is set aside and recorded; the chain goes on and verifies', () => {
  const file = trail('torn', 2);
  const intact = fs.readFileSync(file, 'utf8');
  // What a crash in the middle of writing a third entry leaves: part of a line, no line ending, and the
  // head file still naming entry 2 (it is written after the line).
  const part = '{"seq":3,"at":"2026-11-30T12:00:00.000Z","who":"tester","act';
  fs.appendFileSync(file, part);
  const entry = appendAudit(file, { action: 'after_crash' }, { CARELAKE_PRINCIPAL: 'tester' });
  assert.equal(entry.seq, 4);
  const entries = readAudit(file);
  assert.deepEqual(
    entries.map((e) => e.action),
    ['act0', 'act1', 'audit_torn_line_set_aside', 'after_crash'],
  );
  const record = entries[2]?.details as { bytes: number; saved_as: string; sha256: string };
  assert.equal(record.bytes, part.length);
  assert.equal(fs.readFileSync(record.saved_as, 'utf8'), part, 'the cut line is kept for inspection');
  assert.ok(fs.readFileSync(file, 'utf8').startsWith(intact), 'the entries before it are untouched');
  assert.deepEqual(verifyAudit(file), { ok: true, entries: 4, head: auditHead(file), problems: [] });
});

test('an entry complete but for its line ending gets one; a cut line the head does not allow for is refused', () => {
  const file = trail('no-newline', 2);
  fs.truncateSync(file, fs.statSync(file).size - 1);
  assert.equal(appendAudit(file, { action: 'next' }).seq, 3);
  assert.equal(verifyAudit(file).ok, true);
  // A cut line while the head names a newer entry than the last whole one: not a crash's trace.
  const other = trail('cut-after-head', 2);
  const lines = fs.readFileSync(other, 'utf8').split('\n');
  fs.writeFileSync(other, `${lines[0]}\n${(lines[1] ?? '').slice(0, 30)}`);
  assert.throws(() => appendAudit(other, { action: 'x' }), /damaged/);
  assert.equal(
    fs.readdirSync(dir).filter((f) => f.startsWith('cut-after-head') && f.includes('.torn-')).length,
    0,
  );
});

test('SSN-shaped text in an entry is redacted; key ids and digests are kept', () => {
  const file = path.join(dir, 'redact.audit.jsonl');
  const e = appendAudit(file, {
    action: 'sql_query',
    details: {
      query: "SELECT * FROM bronze_patients WHERE x = '900-12-3456' OR y = '900 12 3457'",
      keyId: 'a123456789bc',
    },
  });
  const text = fs.readFileSync(file, 'utf8');
  assert.doesNotMatch(text, /900-12-3456|900 12 3457/);
  assert.equal(e.details['keyId'], 'a123456789bc');
  assert.equal(verifyAudit(file).ok, true);
});

test('principal: CARELAKE_PRINCIPAL, else the OS user', () => {
  assert.equal(principal({ CARELAKE_PRINCIPAL: 'svc-api' }), 'svc-api');
  assert.equal(principal({}), os.userInfo().username);
});

test('three processes appending at once keep one chain', async () => {
  const file = path.join(dir, 'concurrent.audit.jsonl');
  const script = fileURLToPath(new URL('./audit-appender.ts', import.meta.url));
  const procs = [0, 1, 2].map(
    (p) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, file, String(p), '15'], {
          stdio: 'inherit',
        });
        child.on('exit', (code) => resolve(code ?? 1));
      }),
  );
  assert.deepEqual(await Promise.all(procs), [0, 0, 0]);
  const v = verifyAudit(file);
  assert.equal(v.ok, true, v.problems.join('; '));
  assert.equal(v.entries, 45);
});

test('identity review decisions are recorded through recordIdentityDecision', () => {
  const db = path.join(dir, 'identity.duckdb');
  const e = recordIdentityDecision(db, {
    decision: 'accept',
    pairId: 'pair-1',
    patientIds: ['P1', 'P2'],
    rows: 2,
  });
  assert.equal(e.action, 'identity_review');
  assert.equal(e.status, 'accept');
  assert.deepEqual(e.details['patient_ids'], ['P1', 'P2']);
  assert.equal(readAudit(auditPathFor(db)).length, 1);
});

/** Runs `fn` on a new lakehouse with the test SSN key set (restored after), then removes it. */
async function withKeyedLake(prefix: string, fn: (lake: Lakehouse) => Promise<void>): Promise<void> {
  const lake: Lakehouse = makeLakehouse(prefix);
  const prev = process.env['CARELAKE_SSN_KEY'];
  process.env['CARELAKE_SSN_KEY'] = SSN_KEY_HEX;
  try {
    await fn(lake);
  } finally {
    if (prev === undefined) delete process.env['CARELAKE_SSN_KEY'];
    else process.env['CARELAKE_SSN_KEY'] = prev;
    lake.cleanup();
  }
}

test('CLI: runs (completed and refused) and PHI queries are audited; list, verify and head', async () => {
  await withKeyedLake('carelake-audit-cli-', async (lake) => {
    writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
    const base = ['--db', lake.db, '--landing', lake.landing];
    assert.equal((await cli(['run', ...base])).code, 0);
    assert.equal((await cli(['sql', '--db', lake.db, 'SELECT COUNT(*) AS n FROM gold_patients'])).code, 0);
    assert.equal((await cli(['sql', '--db', lake.db, 'SELECT 42 AS answer'])).code, 0);
    assert.equal((await cli(['sql', '--db', lake.db, 'SELECT nope FROM silver_patients'])).code, 1);
    process.env['CARELAKE_SSN_KEY'] = 'ab'.repeat(32);
    const refused = await cli(['run', ...base]);
    assert.equal(refused.code, 1);
    const list = await cli(['audit', 'list', '--db', lake.db, '--format', 'json']);
    assert.equal(list.code, 0, list.err);
    const entries = JSON.parse(list.out) as {
      action: string;
      status: string;
      rows: number | null;
      details: Record<string, unknown>;
    }[];
    assert.deepEqual(
      entries.map((e) => `${e.action}:${e.status}`),
      ['pipeline_update:COMPLETED', 'sql_query:ok', 'sql_query:FAILED', 'pipeline_update:REFUSED'],
    );
    assert.equal(entries[1]?.rows, 1);
    assert.deepEqual(entries[1]?.details['tables'], ['gold_patients']);
    assert.match(String(entries[3]?.details['error']), /differs from the key/);
    const text = await cli(['audit', '--db', lake.db, '--action', 'sql_query']);
    assert.match(text.out, /sql_query/);
    assert.doesNotMatch(text.out, /pipeline_update/);
    const ok = await cli(['audit', 'verify', '--db', lake.db]);
    assert.equal(ok.code, 0);
    assert.match(ok.out, /4 entries, chain intact/);
    const head = await cli(['audit', 'head', '--db', lake.db, '--format', 'json']);
    assert.equal((JSON.parse(head.out) as { seq: number }).seq, 4);
    const file = auditPathFor(lake.db);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"rows":1,', '"rows":2,'));
    const bad = await cli(['audit', 'verify', '--db', lake.db]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /modified/);
    const badJson = await cli(['audit', 'verify', '--db', lake.db, '--format', 'json']);
    assert.equal((JSON.parse(badJson.out) as { ok: boolean }).ok, false);
    assert.match((await cli(['audit', '--db', path.join(lake.dir, 'none.duckdb')])).out, /no audit entries/);
  });
});

test('CLI: a query is audited by what its plan reads, however its text spells the table or file', async () => {
  await withKeyedLake('carelake-audit-plan-', async (lake) => {
    writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
    assert.equal((await cli(['run', '--db', lake.db, '--landing', lake.landing])).code, 0);
    const segments = `${lake.db}.bronze`;
    const queries = [
      // Not audited: no PHI table, no file.
      'SELECT 42 AS answer',
      'SELECT COUNT(*) AS n FROM pipeline_runs',
      // A name built at run time (the bound plan scans it even where the count comes from statistics).
      "SELECT COUNT(*) AS n FROM query('SELECT * FROM silver_' || 'pat' || 'ients')",
      "SELECT * FROM query_table('gold_' || 'claims') LIMIT 1",
      // A segment file read by a path built the same way.
      `SELECT first_name FROM read_parquet(concat('${segments}/', 'bronze_pat' || 'ients', '/*.parquet')) LIMIT 1`,
      // Two statements: not planned beforehand, audited since it ran.
      'SELECT 1 AS a; SELECT 2 AS b',
    ];
    for (const q of queries) {
      const r = await cli(['sql', '--db', lake.db, '--format', 'json', q]);
      assert.equal(r.code, 0, `${q}: ${r.err}`);
    }
    const list = await cli(['audit', 'list', '--db', lake.db, '--action', 'sql_query', '--format', 'json']);
    assert.equal(list.code, 0, list.err);
    const entries = (JSON.parse(list.out) as { details: Record<string, unknown> }[]).map((e) => ({
      query: e.details['query'],
      tables: e.details['tables'],
      planned: e.details['planned'],
    }));
    assert.deepEqual(entries, [
      { query: queries[2], tables: ['silver_patients'], planned: undefined },
      // gold_claims is a view of silver_claims: the plan names the table it reads.
      { query: queries[3], tables: ['silver_claims'], planned: undefined },
      { query: queries[4], tables: ['read_parquet()'], planned: undefined },
      { query: queries[5], tables: [], planned: false },
    ]);
  });
});

test('an update that fails and rolls back is still recorded in the audit trail', async () => {
  const lake: Lakehouse = makeLakehouse('carelake-audit-failed-');
  try {
    writeValidBatch(lake.landing, T0, { patients: range(1, 4) });
    assert.equal((await run(lake)).status, 'COMPLETED');
    const db = await Database.open(lake.db);
    await db.run(`INSERT INTO gold_patients
      SELECT * REPLACE (effective_from + INTERVAL 1 DAY AS effective_to, FALSE AS is_current)
      FROM gold_patients WHERE is_current LIMIT 1`);
    db.close();
    writeValidBatch(lake.landing, hoursAfter(T0, 24), { patients: range(1, 5), firstKey: 1000 });
    const failed = await run(lake);
    assert.equal(failed.status, 'FAILED');
    const last = readAudit(auditPathFor(lake.db)).at(-1);
    assert.equal(last?.action, 'pipeline_update');
    assert.equal(last?.status, 'FAILED');
    assert.equal(last?.details['run_id'], failed.runId);
    assert.match(String(last?.details['error']), /no_overlapping_windows/);
    assert.equal(verifyAudit(auditPathFor(lake.db)).ok, true);
  } finally {
    lake.cleanup();
  }
});

test('a lock left by a dead appender is taken over', async () => {
  const file = path.join(dir, 'stale.audit.jsonl');
  const child = spawn(process.execPath, ['-e', '0']);
  const pid = child.pid ?? 0;
  await new Promise((resolve) => child.on('exit', resolve));
  fs.writeFileSync(`${file}.lock`, String(pid));
  appendAudit(file, { action: 'after-crash' });
  assert.equal(fs.existsSync(`${file}.lock`), false);
  assert.equal(readAudit(file)[0]?.action, 'after-crash');
});

test('CLI: after damage, `audit restart` keeps the damaged trail and starts a chain that records it; updates run again', async () => {
  await withKeyedLake('carelake-audit-restart-', async (lake) => {
    writeValidBatch(lake.landing, T0, { patients: range(1, 3) });
    const base = ['--db', lake.db, '--landing', lake.landing];
    assert.equal((await cli(['run', ...base])).code, 0);
    const file = auditPathFor(lake.db);
    const nothing = await cli(['audit', 'restart', '--db', lake.db, '--reason', 'check']);
    assert.equal(nothing.code, 0, nothing.err);
    assert.match(nothing.out, /verifies: nothing to restart/);
    // An entry edited by hand and a line that is no entry: verify fails, and the next update is refused
    // (no entry can follow a damaged last one).
    fs.writeFileSync(
      file,
      fs.readFileSync(file, 'utf8').replace('"status":"COMPLETED"', '"status":"FAILED"') +
        '{"broken": true}\n',
    );
    const damaged = fs.readFileSync(file);
    assert.equal((await cli(['audit', 'verify', '--db', lake.db])).code, 1);
    writeValidBatch(lake.landing, hoursAfter(T0, 1), { patients: range(3, 4), firstKey: 100 });
    const ingested = async (): Promise<number> =>
      Number((await query<{ n: string }>(lake.db, 'SELECT COUNT(*) AS n FROM ingest_files'))[0]?.n);
    const before = await ingested();
    const refused = await cli(['run', ...base]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /the last entry of the audit trail .* is damaged, and no entry can follow it/);
    assert.deepEqual(fs.readFileSync(file), damaged, 'the refusal wrote nothing to the damaged trail');
    assert.equal(await ingested(), before, 'refused before the update: nothing was ingested unaudited');

    const reason = ['--reason', 'ticket 42'];
    const restart = await cli(['audit', 'restart', '--db', lake.db, ...reason, '--format', 'json']);
    assert.equal(restart.code, 0, restart.err);
    const r = JSON.parse(restart.out) as {
      setAside: string[];
      sha256: string;
      entry: { action: string; details: Record<string, unknown> };
    };
    assert.equal(r.setAside.length, 2, 'the trail and its head file');
    assert.deepEqual(fs.readFileSync(r.setAside[0] ?? ''), damaged, 'the damaged trail is kept as it was');
    assert.equal(r.entry.action, 'audit_chain_restarted');
    assert.equal(r.entry.details['reason'], 'ticket 42');
    assert.equal(r.entry.details['sha256'], crypto.createHash('sha256').update(damaged).digest('hex'));
    assert.ok((r.entry.details['problems'] as string[]).length > 0);
    assert.equal((await cli(['audit', 'verify', '--db', lake.db])).code, 0);
    const again = await cli(['run', ...base]);
    assert.equal(again.code, 0, again.err);
    assert.ok((await ingested()) > before, 'the refused batch is ingested once the trail is restarted');
    assert.deepEqual(
      readAudit(file).map((e) => e.action),
      ['audit_chain_restarted', 'pipeline_update'],
    );
  });
});
