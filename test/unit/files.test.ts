import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeDirectory } from '../../src/support/files.ts';

const BIN = fileURLToPath(new URL('../../bin/carelake.js', import.meta.url));

test('makeDirectory makes missing parents, accepts an existing folder, and sets the mode of what it makes', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-mkdir-'));
  try {
    const deep = path.join(root, 'a', 'b', 'c');
    makeDirectory(deep, 0o700);
    assert.ok(fs.statSync(deep).isDirectory());
    assert.equal(fs.statSync(path.join(root, 'a')).mode & 0o777, 0o700);
    makeDirectory(deep);
    makeDirectory(root);
    // A file in the way.
    fs.writeFileSync(path.join(root, 'file'), 'x');
    assert.throws(() => makeDirectory(path.join(root, 'file', 'sub')), { code: 'ENOTDIR' });
    assert.throws(() => makeDirectory(path.join(root, 'file')), { code: 'ENOTDIR' });
    // A dangling link in the way.
    fs.symlinkSync(path.join(root, 'gone'), path.join(root, 'dangling'));
    assert.throws(() => makeDirectory(path.join(root, 'dangling', 'sub')), { code: 'ENOENT' });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a parent that exists but cannot hold a folder (/proc) fails at once instead of looping', () => {
  // fs.mkdirSync(…, { recursive: true }) never returns for this path on Node 20.
  assert.throws(() => makeDirectory('/proc/carelake-no-such-folder/sub'), { code: 'ENOENT' });
});

test('carelake run with HOME under /proc and no key configured says where the key could not go', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-home-'));
  try {
    fs.mkdirSync(path.join(dir, 'landing'));
    const env: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !['CARELAKE_SSN_KEY', 'CARELAKE_SSN_KEY_FILE', 'XDG_CONFIG_HOME'].includes(k),
      ),
    );
    env['HOME'] = '/proc/carelake-no-such-home';
    const r = spawnSync(
      process.execPath,
      [BIN, 'run', '--db', path.join(dir, 'lake.duckdb'), '--landing', path.join(dir, 'landing')],
      { env, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.signal, null, 'the run ends by itself');
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /cannot create the folder of the SSN key file \/proc\/carelake-no-such-home\/\.config\/carelake\/ssn-hmac\.key \(ENOENT.*\); set CARELAKE_SSN_KEY_FILE/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
