import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readAudit, auditPathFor } from '../../src/privacy/audit.ts';
import {
  checkKeyLocation,
  createKeyFile,
  enclosingGitRepository,
  hashSsn,
  keyIdOf,
  loadSsnKey,
  rotateKeyFile,
} from '../../src/privacy/ssn-key.ts';
import { cli } from '../pipeline/cli-helper.ts';
import {
  T0,
  makeLakehouse,
  query,
  range,
  run,
  ssnOf,
  writeValidBatch,
  type Lakehouse,
} from '../pipeline/fixtures.ts';

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-keys-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('key files inside a git repository or the landing folder, or readable by others, are refused', () => {
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(path.join(repo, '.git'), { recursive: true });
  const inRepo = path.join(repo, 'config', 'ssn.key');
  assert.equal(enclosingGitRepository(inRepo), repo);
  assert.throws(() => loadSsnKey({ CARELAKE_SSN_KEY_FILE: inRepo }), /inside the git repository/);
  assert.equal(fs.existsSync(inRepo), false, 'no key written inside the repository');

  const landing = path.join(dir, 'landing');
  assert.throws(
    () => loadSsnKey({ CARELAKE_SSN_KEY_FILE: path.join(landing, 'k.key') }, { landingDir: landing }),
    /inside the landing folder/,
  );
  assert.throws(() => checkKeyLocation(landing, { landingDir: landing }), /landing folder/);

  const open = path.join(dir, 'open.key');
  fs.writeFileSync(open, 'cd'.repeat(32) + '\n', { mode: 0o644 });
  fs.chmodSync(open, 0o644);
  assert.throws(() => loadSsnKey({ CARELAKE_SSN_KEY_FILE: open }), /chmod 600/);
  fs.chmodSync(open, 0o600);
  assert.equal(
    loadSsnKey({ CARELAKE_SSN_KEY_FILE: open }).keyId,
    keyIdOf(Buffer.from('cd'.repeat(32), 'hex')),
  );
});

test('create refuses an existing file or a key from the environment; rotate keeps the previous key', () => {
  const file = path.join(dir, 'rot', 'k.key');
  const env = { CARELAKE_SSN_KEY_FILE: file };
  const created = createKeyFile(env);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.throws(() => createKeyFile(env), /already exists/);
  assert.throws(() => createKeyFile({ ...env, CARELAKE_SSN_KEY: 'ab'.repeat(32) }), /CARELAKE_SSN_KEY/);
  const r = rotateKeyFile(env);
  assert.equal(r.previous.keyId, created.keyId);
  assert.notEqual(r.current.keyId, created.keyId);
  assert.equal(loadSsnKey(env).keyId, r.current.keyId);
  assert.equal(fs.statSync(r.previousPath).mode & 0o777, 0o600);
  assert.equal(loadSsnKey({ CARELAKE_SSN_KEY_FILE: r.previousPath }).keyId, created.keyId);
  assert.throws(() => rotateKeyFile({ CARELAKE_SSN_KEY: 'ab'.repeat(32) }), /openssl rand -hex 32/);
});

test('rotation end to end through the CLI: rotate, incremental run refused, full refresh re-hashes and switches the key id', async () => {
  const lake: Lakehouse = makeLakehouse('carelake-rotate-');
  const saved = { key: process.env['CARELAKE_SSN_KEY'], file: process.env['CARELAKE_SSN_KEY_FILE'] };
  delete process.env['CARELAKE_SSN_KEY'];
  const keyFile = path.join(lake.dir, 'secrets', 'ssn.key');
  process.env['CARELAKE_SSN_KEY_FILE'] = keyFile;
  const base = ['--db', lake.db, '--landing', lake.landing];
  try {
    writeValidBatch(lake.landing, T0, { patients: range(1, 6) });
    const none = await cli(['keys', 'show', ...base]);
    assert.match(none.out, /No SSN key yet/);
    const created = await cli(['keys', 'create', ...base, '--format', 'json']);
    assert.equal(created.code, 0, created.err);
    const id1 = (JSON.parse(created.out) as { keyId: string }).keyId;
    assert.equal((await cli(['keys', 'create', ...base])).code, 1);
    assert.equal((await cli(['run', ...base])).code, 0);
    const patients1 = await query<{ n: number }>(lake.db, 'SELECT COUNT(*) AS n FROM gold_patients');

    const rotated = await cli(['keys', 'rotate', ...base]);
    assert.equal(rotated.code, 0, rotated.err);
    assert.match(rotated.out, /carelake run --full-refresh/);
    const id2 = loadSsnKey(process.env).keyId;
    assert.notEqual(id2, id1);

    const shown = JSON.parse((await cli(['keys', 'show', ...base, '--format', 'json'])).out) as {
      state: string;
      databaseKeyId: string;
    };
    assert.deepEqual([shown.state, shown.databaseKeyId], ['differs', id1]);

    const refused = await cli(['run', ...base]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /refusing to mix hashes/);
    assert.match(refused.err, /keys rotate/);
    assert.match(refused.err, /run --full-refresh/);
    assert.match(refused.err, /landing restore/);

    const refresh = await cli(['run', '--full-refresh', ...base]);
    assert.equal(refresh.code, 0, refresh.err);
    assert.match(refresh.out, new RegExp(`SSN key switched from ${id1} to ${id2}`));

    const meta = await query<{ value: string }>(
      lake.db,
      "SELECT value FROM carelake_meta WHERE key = 'ssn_key_id'",
    );
    assert.equal(meta[0]?.value, id2);
    for (const t of ['bronze_patients', 'silver_patient_sources']) {
      const ids = await query<{ k: string | null }>(lake.db, `SELECT DISTINCT _ssn_key_id AS k FROM ${t}`);
      assert.deepEqual(
        ids.map((r) => r.k),
        [id2],
        t,
      );
    }
    const key2 = loadSsnKey(process.env).key;
    const hashes = await query<{ patient_id: string; ssn_hash: string }>(
      lake.db,
      "SELECT patient_id, ssn_hash FROM bronze_patients WHERE source_system = 'EHR_SYSTEM' ORDER BY patient_id",
    );
    assert.equal(hashes.length, 5);
    hashes.forEach((h, i) => assert.equal(h.ssn_hash, hashSsn(key2, ssnOf(i + 1))));
    const silverHashes = await query<{ n: number }>(
      lake.db,
      'SELECT COUNT(*) AS n FROM silver_patients WHERE ssn_hash NOT IN (SELECT ssn_hash FROM bronze_patients)',
    );
    assert.equal(silverHashes[0]?.n, 0);
    assert.deepEqual(await query(lake.db, 'SELECT COUNT(*) AS n FROM gold_patients'), patients1);
    assert.equal((await cli(['run', ...base])).code, 0, 'incremental runs work again under the new key');

    const actions = readAudit(auditPathFor(lake.db)).map((e) => `${e.action}:${e.status}`);
    assert.deepEqual(actions, [
      'key_create:ok',
      'pipeline_update:COMPLETED',
      'key_rotate:ok',
      'pipeline_update:REFUSED',
      'full_refresh:COMPLETED',
      'pipeline_update:COMPLETED',
    ]);
    const switched = readAudit(auditPathFor(lake.db))[4];
    assert.equal(switched?.details['ssn_key_switched_from'], id1);
    assert.equal(switched?.details['ssn_key_id'], id2);

    // Rotation is refused while ingested files are missing (the refresh could not re-hash them).
    assert.equal((await cli(['landing', 'archive', '--older-than', '0s', ...base])).code, 0);
    const blocked = await cli(['keys', 'rotate', ...base]);
    assert.equal(blocked.code, 1);
    assert.match(blocked.err, /refusing to rotate: 3 ingested landing file/);
    assert.equal(loadSsnKey(process.env).keyId, id2);

    process.env['CARELAKE_SSN_KEY'] = 'ab'.repeat(32);
    const envRotate = await cli(['keys', 'rotate', ...base, '--force']);
    assert.equal(envRotate.code, 1);
    assert.match(envRotate.err, /CARELAKE_SSN_KEY/);
  } finally {
    if (saved.key === undefined) delete process.env['CARELAKE_SSN_KEY'];
    else process.env['CARELAKE_SSN_KEY'] = saved.key;
    if (saved.file === undefined) delete process.env['CARELAKE_SSN_KEY_FILE'];
    else process.env['CARELAKE_SSN_KEY_FILE'] = saved.file;
    lake.cleanup();
  }
});

test('the first run creates the key file when none exists, says so, and audits it', async () => {
  const lake: Lakehouse = makeLakehouse('carelake-firstkey-');
  try {
    writeValidBatch(lake.landing, T0, { patients: range(1, 3) });
    const file = path.join(lake.dir, 'cfg', 'ssn.key');
    const messages: string[] = [];
    const env = { ...process.env, CARELAKE_SSN_KEY: '', CARELAKE_SSN_KEY_FILE: file };
    const r = await run(lake, { env, onMessage: (m) => messages.push(m) });
    assert.equal(r.status, 'COMPLETED');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.match(messages.join('\n'), /created a development SSN key/);
    const entries = readAudit(auditPathFor(lake.db));
    assert.deepEqual(
      entries.map((e) => e.action),
      ['key_create', 'pipeline_update'],
    );
    assert.equal(entries[0]?.details['keyId'], loadSsnKey(env).keyId);
    const inLanding = await run(lake, {
      env: { ...env, CARELAKE_SSN_KEY_FILE: path.join(lake.landing, 'k.key') },
    }).catch((e: unknown) => e);
    assert.match(String(inLanding), /inside the landing folder/);
    assert.equal(readAudit(auditPathFor(lake.db)).at(-1)?.status, 'REFUSED');
  } finally {
    lake.cleanup();
  }
});
