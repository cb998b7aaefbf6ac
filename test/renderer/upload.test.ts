import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { cli } from '../pipeline/cli-helper.ts';
import { referencePath } from '../../src/reference/paths.ts';

/**
 * `carelake upload` and `carelake generate --upload-volume` against a real HTTP server on loopback
 * that plays the Databricks Files API: it checks the method, the path, overwrite=false, the bearer
 * token and the bytes, keeps what it received, and answers 409 for a file it already has.
 */
const TOKEN = 'dapi-test-token-123';
const received = new Map<string, Buffer>();
const requests: { method: string; url: string }[] = [];
let server: http.Server;
let host = '';
let failWith: number | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-upload-'));
const saved = { host: process.env['DATABRICKS_HOST'], token: process.env['DATABRICKS_TOKEN'] };

before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '' });
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, body: object): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (failWith) return send(failWith, { error_code: 'PERMISSION_DENIED', message: 'no WRITE VOLUME' });
      if (req.method !== 'PUT') return send(405, { message: 'method' });
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { message: 'token' });
      if (req.headers['content-type'] !== 'application/octet-stream')
        return send(400, { message: 'content type' });
      if (url.searchParams.get('overwrite') !== 'false')
        return send(400, { message: 'overwrite must be false' });
      const prefix = '/api/2.0/fs/files/Volumes/';
      if (!url.pathname.startsWith(prefix)) return send(404, { message: 'path' });
      const p = decodeURIComponent(url.pathname.slice('/api/2.0/fs/files'.length));
      if (received.has(p)) return send(409, { error_code: 'ALREADY_EXISTS', message: 'exists' });
      received.set(p, Buffer.concat(chunks));
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env['DATABRICKS_HOST'] = host;
  process.env['DATABRICKS_TOKEN'] = TOKEN;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (saved.host === undefined) delete process.env['DATABRICKS_HOST'];
  else process.env['DATABRICKS_HOST'] = saved.host;
  if (saved.token === undefined) delete process.env['DATABRICKS_TOKEN'];
  else process.env['DATABRICKS_TOKEN'] = saved.token;
  fs.rmSync(dir, { recursive: true, force: true });
});

const VOLUME = '/Volumes/carelake_dev/medallion/landing';

test('generate --upload-volume sends every new file once, byte for byte', async () => {
  const r = await cli([
    'generate',
    '--patients',
    '20',
    '--seed',
    '3',
    '--out',
    path.join(dir, 'landing'),
    '--truth',
    path.join(dir, 'truth'),
    '--as-of',
    '2026-02-01T08:00:00Z',
    '--upload-volume',
    VOLUME,
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out) as {
    files: { fileName: string; path: string }[];
    uploads: { volumePath: string; outcome: string }[];
  };
  assert.equal(out.uploads.length, 3);
  for (const f of out.files) {
    const body = received.get(`${VOLUME}/${f.fileName}`);
    assert.ok(body, `${f.fileName} uploaded`);
    assert.ok(body.equals(fs.readFileSync(f.path)), `${f.fileName}: same bytes`);
  }
  assert.ok(out.uploads.every((u) => u.outcome === 'uploaded'));
  assert.ok(requests.every((q) => q.method === 'PUT'));
  assert.doesNotMatch(r.out + r.err, new RegExp(TOKEN), 'the token is never printed');
});

test('upload of the same folder again overwrites nothing: the server answers 409 and the CLI says so', async () => {
  const before = new Map(received);
  const r = await cli([
    'upload',
    '--from',
    path.join(dir, 'landing'),
    '--volume',
    VOLUME,
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out) as { uploaded: number; alreadyThere: number };
  assert.deepEqual(out, { ...out, uploaded: 0, alreadyThere: 3 });
  assert.deepEqual([...received.keys()], [...before.keys()]);
  const text = await cli(['upload', '--from', path.join(dir, 'landing'), '--volume', `${VOLUME}/`]);
  assert.match(
    text.out,
    /already there {2}\/Volumes\/carelake_dev\/medallion\/landing\/patients_260201_0800\.csv/,
  );
  assert.match(text.out, /0 uploaded, 3 already in the volume/);
});

test('upload --reference sends the reference files the pipeline reads, with names encoded in the path', async () => {
  const r = await cli([
    'upload',
    '--reference',
    '/Volumes/carelake_dev/medallion/ref data',
    '--format',
    'json',
  ]);
  assert.equal(r.code, 0, r.err);
  const body = received.get('/Volumes/carelake_dev/medallion/ref data/us_states_regions.csv');
  assert.ok(body?.equals(fs.readFileSync(referencePath('us_states_regions.csv'))));
  assert.ok(
    requests.some((q) => q.url.startsWith('/api/2.0/fs/files/Volumes/carelake_dev/medallion/ref%20data/')),
  );
});

test('upload errors are clear: bad volume path, missing token, refused token, unreachable host', async () => {
  let r = await cli(['upload', '--volume', '/tmp/landing']);
  assert.equal(r.code, 2);
  assert.match(r.err, /\/Volumes\/<catalog>\/<schema>\/<volume>/);
  r = await cli(['upload']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--volume, --reference or both/);
  delete process.env['DATABRICKS_TOKEN'];
  r = await cli(['upload', '--from', path.join(dir, 'landing'), '--volume', VOLUME]);
  assert.equal(r.code, 2);
  assert.match(r.err, /DATABRICKS_TOKEN/);
  process.env['DATABRICKS_TOKEN'] = TOKEN;
  r = await cli(['upload', '--from', path.join(dir, 'landing'), '--volume', VOLUME, '--host', 'not a url']);
  assert.equal(r.code, 2);
  failWith = 403;
  r = await cli(['upload', '--from', path.join(dir, 'landing'), '--volume', VOLUME]);
  failWith = undefined;
  assert.equal(r.code, 1);
  assert.match(r.err, /HTTP 403 \(check DATABRICKS_TOKEN and WRITE VOLUME on the volume\)/);
  r = await cli(['upload', '--from', path.join(dir, 'nowhere'), '--volume', VOLUME]);
  assert.equal(r.code, 2);
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  r = await cli([
    'upload',
    '--from',
    path.join(dir, 'landing'),
    '--volume',
    VOLUME,
    '--host',
    `http://127.0.0.1:${port}`,
  ]);
  assert.equal(r.code, 1);
  assert.match(r.err, /could not reach/);
  r = await cli([
    'generate',
    '--patients',
    '5',
    '--out',
    path.join(dir, 'l2'),
    '--truth',
    path.join(dir, 't2'),
    '--upload-volume',
    'landing',
  ]);
  assert.equal(r.code, 2);
});
