import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database } from '../../src/engine/database.ts';
import { duckdbDialect } from '../../src/dialect/duckdb.ts';
import { hashSsn, hmacPads, keyIdOf, loadSsnKey, normaliseSsn } from '../../src/privacy/ssn-key.ts';

test('HMAC-SHA256 in DuckDB SQL equals Node crypto for the same key', async () => {
  const db = await Database.open(':memory:');
  try {
    for (const key of [crypto.randomBytes(32), crypto.randomBytes(64)]) {
      const sql = duckdbDialect.hmacSha256Hex("'900123456'", hmacPads(key));
      const row = await db.one<{ h: string }>(`SELECT ${sql} AS h`);
      assert.equal(row?.h, hashSsn(key, '900-12-3456'));
      assert.equal(row?.h, crypto.createHmac('sha256', key).update('900123456').digest('hex'));
    }
  } finally {
    db.close();
  }
});

test('SSNs normalise to 9 digits or are rejected', () => {
  assert.equal(normaliseSsn('900-12-3456'), '900123456');
  assert.equal(normaliseSsn(' 900 12 3456 '), '900123456');
  assert.equal(normaliseSsn('90012345'), undefined);
  assert.equal(hashSsn(Buffer.alloc(32), '12'), undefined);
});

test('a key comes from the environment, or a key file created owner-only on first use', () => {
  const hex = 'ab'.repeat(32);
  const fromEnv = loadSsnKey({ CARELAKE_SSN_KEY: hex });
  assert.equal(fromEnv.source, 'env');
  assert.equal(fromEnv.keyId, keyIdOf(Buffer.from(hex, 'hex')));
  assert.throws(() => loadSsnKey({ CARELAKE_SSN_KEY: 'not-hex' }), /32 to 64 bytes/);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-key-'));
  try {
    const file = path.join(dir, 'sub', 'key');
    const created = loadSsnKey({ CARELAKE_SSN_KEY_FILE: file });
    assert.equal(created.created, true);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const again = loadSsnKey({ CARELAKE_SSN_KEY_FILE: file });
    assert.equal(again.created, false);
    assert.equal(again.keyId, created.keyId);
    const home = loadSsnKey({ XDG_CONFIG_HOME: dir });
    assert.equal(home.path, path.join(dir, 'carelake', 'ssn-hmac.key'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
