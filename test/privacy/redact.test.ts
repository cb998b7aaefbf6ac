import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duckdbDialect } from '../../src/dialect/duckdb.ts';
import { Database } from '../../src/engine/database.ts';
import { redactDeep, redactSsnStrict, redactSsnText } from '../../src/privacy/redact.ts';
import { redactSsn } from '../../src/runner/bronze.ts';

const FORMS = ['900-12-3456', '900123456', '900 12 3456', '900.12.3456', '900-12 3456'];

test('SSN-shaped text is redacted in every formatting; without separators, not inside longer numbers', () => {
  for (const f of FORMS) {
    assert.equal(redactSsnText(`ssn ${f}, next`), 'ssn [REDACTED], next', f);
    assert.equal(redactSsnText(`x${f}y`), 'x[REDACTED]y', f);
  }
  assert.equal(redactSsnText('two: 900-12-3456,900 12 3457'), 'two: [REDACTED],[REDACTED]');
  assert.equal(redactSsnText('order 1234567890123'), 'order 1234567890123');
  assert.equal(redactSsnText('phone 512-555-0101'), 'phone 512-555-0101');
  // With a separator after each group, digits touching it do not hide it (a lost delimiter glued it).
  assert.equal(redactSsnText('512-555-00900-12-3456,INS1'), '512-555-00[REDACTED],INS1');
  assert.equal(redactSsnText('1900 12 34567'), '1[REDACTED]7');
  assert.equal(redactSsnText('at 2026-12-03 17:14:29'), 'at 2026-12-03 17:14:29');
});

test("carelake's own identifiers are kept whole, even with nine decimal digits in a row", () => {
  const keyId = 'a123456789bc';
  assert.equal(redactSsnText(keyId), keyId);
  const digest = '123456789' + 'f'.repeat(55);
  assert.equal(redactSsnText(digest), digest);
  const uuid = '12345678-1234-4234-8234-123456789012';
  assert.equal(redactSsnText(uuid), uuid);
  // …but the same digits in free text, or in the strict form, are redacted.
  assert.equal(redactSsnText(`key ${keyId.slice(1, 10)}`), 'key [REDACTED]');
  assert.equal(redactSsnStrict('a123456789bc'), 'a[REDACTED]bc');
  assert.deepEqual(redactDeep({ k: ['900-12-3456', 3], n: null, [`900123456`]: keyId }), {
    k: ['[REDACTED]', 3],
    n: null,
    '[REDACTED]': keyId,
  });
});

test('the bronze SQL redaction removes SSNs with dashes, without, with spaces or dots', async () => {
  const db = await Database.open(':memory:');
  try {
    for (const f of FORMS) {
      const row = await db.one<{ r: string }>(`SELECT ${redactSsn(`'E1,Ann,${f},${f}'`)} AS r`);
      assert.equal(row?.r, 'E1,Ann,[REDACTED],[REDACTED]', f);
    }
    const kept = await db.one<{ r: string }>(`SELECT ${redactSsn("'1234567890123,512-555-0101'")} AS r`);
    assert.equal(kept?.r, '1234567890123,512-555-0101');
    for (const [glued, redacted] of [
      ['A8,Ivy,512-555-00900-12-3456,INS1', 'A8,Ivy,512-555-00[REDACTED],INS1'],
      ['x1900.12.34567y', 'x1[REDACTED]7y'],
    ]) {
      const row = await db.one<{ r: string }>(`SELECT ${redactSsn(`'${glued}'`)} AS r`);
      assert.equal(row?.r, redacted, glued);
    }
    assert.equal(duckdbDialect.name, 'duckdb');
  } finally {
    db.close();
  }
});
