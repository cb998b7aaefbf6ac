import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database } from '../../src/engine/database.ts';
import { duckdbDialect } from '../../src/dialect/duckdb.ts';
import { databricksDialect } from '../../src/dialect/databricks.ts';
import {
  redactSsnSql,
  ssnDigitsSql,
  ssnHashSql,
  usableSsnDigits,
  usableSsnSql,
} from '../../src/definitions/ssn.ts';
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

/** Delivered values, with whether the pipeline hashes them as an SSN. */
const SSN_CASES: readonly (readonly [string, boolean])[] = [
  ['900-12-3456', true], // the 9xx area holds taxpayer numbers (ITINs) and synthetic SSNs
  ['078-05-1121', true],
  ['123-45-6788', true],
  ['987-65-4319', true],
  ['987-65-4330', true],
  ['665 12 3456', true],
  ['001.01.0001', true],
  ['000-12-3456', false], // area 000
  ['666-12-3456', false], // area 666
  ['123-00-4567', false], // group 00
  ['123-45-0000', false], // serial 0000
  ['000-00-0000', false],
  ['111-11-1111', false], // one digit nine times
  ['999999999', false],
  ['123-45-6789', false], // placeholders
  ['078-05-1120', false],
  ['219 09 9999', false],
  ['987-65-4320', false],
  ['987654329', false],
  ['12345678', false], // not nine digits
  ['1234567890', false],
  ['n/a', false],
  ['', false],
];

test('a usable SSN: the same numbers in the SQL both engines run and in JavaScript', async () => {
  const db = await Database.open(':memory:');
  try {
    const key = crypto.randomBytes(32);
    const values = SSN_CASES.map(([v]) => `(${duckdbDialect.string(v)})`).join(', ');
    const rows = await db.all<{ v: string; usable: boolean; h: string | null }>(
      `SELECT v, ${usableSsnSql(duckdbDialect, ssnDigitsSql(duckdbDialect, 'v'))} AS usable,
         ${ssnHashSql(duckdbDialect, 'v', hmacPads(key))} AS h FROM (VALUES ${values}) t(v)`,
    );
    const byValue = new Map(rows.map((r) => [r.v, r]));
    for (const [v, usable] of SSN_CASES) {
      const row = byValue.get(v);
      assert.equal(Boolean(row?.usable), usable, `SQL: ${v}`);
      assert.equal(usableSsnDigits(v) !== undefined, usable, `JavaScript: ${v}`);
      assert.equal(row?.h ?? undefined, hashSsn(key, v), `hash of ${v}`);
      assert.equal(row?.h !== null, usable, `hashed: ${v}`);
    }
  } finally {
    db.close();
  }
});

test('the Databricks spelling of the rule names the same checks', () => {
  const sql = usableSsnSql(databricksDialect, ssnDigitsSql(databricksDialect, 'ssn'));
  assert.match(sql, /LENGTH\(regexp_replace\(ssn, '\[\^0-9\]', ''\)\) = 9/);
  assert.match(sql, /NOT IN \('000', '666'\)/);
  assert.match(sql, /IN \('123456789', '078051120', '219099999', '987654320'/);
  assert.match(redactSsnSql(databricksDialect, 'x'), /'\$1\[REDACTED\]\$2'/);
  assert.match(redactSsnSql(duckdbDialect, 'x'), /'\\1\[REDACTED\]\\2'/);
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
