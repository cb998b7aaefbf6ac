import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli } from '../pipeline/cli-helper.ts';
import { renderBundle } from '../../src/renderer/index.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-bundle-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('carelake bundle --out DIR --format json writes every rendered file and reports the render time', async () => {
  const out = path.join(dir, 'bundle');
  const r = await cli(['bundle', '--out', out, '--format', 'json']);
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out) as {
    files: string[];
    libraries: string[];
    renderMs: number;
    bytes: number;
  };
  const expected = renderBundle();
  assert.deepEqual(
    report.files,
    expected.files.map((f) => f.path),
  );
  assert.ok(report.renderMs > 0 && report.bytes > 10_000);
  for (const f of expected.files) assert.equal(fs.readFileSync(path.join(out, f.path), 'utf8'), f.content);
  const text = await cli(['bundle', '--out', out]);
  assert.equal(text.code, 0);
  assert.match(text.out, /Rendered \d+ files \(13 pipeline SQL files\) into/);
});

test('carelake bundle refuses a file as the output folder, needs --out, and has help', async () => {
  const file = path.join(dir, 'afile');
  fs.writeFileSync(file, 'x');
  const r = await cli(['bundle', '--out', file]);
  assert.equal(r.code, 2);
  assert.match(r.err, /is not a folder/);
  assert.equal((await cli(['bundle'])).code, 2);
  assert.equal((await cli(['bundle', '--out', dir, '--format', 'xml'])).code, 2);
  const help = await cli(['bundle', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /databricks bundle validate/);
  const upHelp = await cli(['upload', '--help']);
  assert.match(upHelp.out, /overwrite=false/);
});
