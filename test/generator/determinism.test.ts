import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { generate } from '../../src/generator/generate.ts';
import { readManifest } from '../../src/generator/manifest.ts';
import { GENERATOR_VERSION } from '../../src/generator/version.ts';
import { workerEntry, workerModeFromEnv } from '../../src/generator/worker-entry.ts';
import { AS_OF, tempDir } from './helpers.ts';

function filesOf(summary: Awaited<ReturnType<typeof generate>>): Buffer[] {
  return summary.files.flatMap((f) => [readFileSync(f.path), readFileSync(f.truthPath)]);
}

test('the same seed and options give byte-identical files, whatever the chunking and worker count', async (t) => {
  const dir = tempDir(t);
  const run = (name: string, extra: { chunkSize?: number; workers?: number; seed?: number }) =>
    generate({
      patients: 3_000,
      seed: 11,
      asOf: AS_OF,
      outDir: path.join(dir, name, 'landing'),
      truthDir: path.join(dir, name, 'truth'),
      ...extra,
    });
  const a = await run('a', {});
  const b = await run('b', { chunkSize: 777 });
  const c = await run('c', { chunkSize: 1_000, workers: 2 });
  const d = await run('d', { seed: 12 });
  const [fa, fb, fc, fd] = [filesOf(a), filesOf(b), filesOf(c), filesOf(d)];
  assert.equal(fa.length, 6);
  for (let i = 0; i < fa.length; i++) {
    assert.ok((fa[i] as Buffer).equals(fb[i] as Buffer), `file ${i} differs with another chunk size`);
    assert.ok((fa[i] as Buffer).equals(fc[i] as Buffer), `file ${i} differs with worker threads`);
    assert.ok(!(fa[i] as Buffer).equals(fd[i] as Buffer), `file ${i} is the same under another seed`);
  }
  assert.deepEqual(a.rows, c.rows);
  assert.deepEqual(a.defects, c.defects);
  const manifest = readManifest(path.join(dir, 'a', 'truth'));
  assert.equal(manifest?.generatorVersion, GENERATOR_VERSION);
  assert.equal(manifest?.seed, 11);
  assert.equal(manifest?.batches.length, 1);
  assert.equal(manifest?.people, 3_000);
});

test('the first rows of a fixed seed stay what they were (an old seed keeps reproducing)', async (t) => {
  const dir = tempDir(t);
  const s = await generate({
    patients: 5,
    seed: 42,
    asOf: AS_OF,
    outDir: path.join(dir, 'l'),
    truthDir: path.join(dir, 't'),
    defectRate: 0,
  });
  const patients = readFileSync(s.files[0]?.path as string, 'latin1').split('\n');
  // Pinned for GENERATOR_VERSION 1.0.0: a change here needs a version bump.
  assert.equal(GENERATOR_VERSION, '1.0.0');
  assert.equal(patients[1], PINNED_FIRST_PATIENT);
});

const PINNED_FIRST_PATIENT =
  'E31415926,MRN14142135,Susan,Mitchell,1999-09-13,F,2916 Ridge Ter,Portland,ME,04160,207-555-0940,susan.mitchell@gmail.com,912-74-7633,MS123456789,EHR_SYSTEM,33.6,false,0,5311.99,PPO,2026-02-04';

test('workers started from the bundle and through tsx write the same bytes', async (t) => {
  const dir = tempDir(t);
  const run = (name: string) =>
    generate({
      patients: 2_500,
      seed: 13,
      asOf: AS_OF,
      outDir: path.join(dir, name, 'landing'),
      truthDir: path.join(dir, name, 'truth'),
      chunkSize: 500,
      workers: 2,
    });
  // The bundle really is built (a failure would fall back to tsx and this test would compare tsx with itself).
  const bundled = await workerEntry('bundle');
  assert.equal(bundled.mode, 'bundle');
  assert.equal(bundled.eval, false);
  assert.equal((await workerEntry('tsx')).mode, 'tsx');
  // A bundle whose temp file has gone (a cleaned /tmp under generate --every) is built again.
  rmSync(bundled.source as URL);
  const rebuilt = await workerEntry('bundle');
  assert.equal(rebuilt.mode, 'bundle');
  assert.ok(existsSync(rebuilt.source as URL));
  const viaBundle = await run('bundle');
  const before = process.env.CARELAKE_GENERATOR_WORKER;
  process.env.CARELAKE_GENERATOR_WORKER = 'tsx';
  try {
    assert.equal(workerModeFromEnv(), 'tsx');
    const viaTsx = await run('tsx');
    const [fb, ft] = [filesOf(viaBundle), filesOf(viaTsx)];
    assert.equal(fb.length, 6);
    for (let i = 0; i < fb.length; i++)
      assert.ok(
        (fb[i] as Buffer).equals(ft[i] as Buffer),
        `file ${i} differs between bundle and tsx workers`,
      );
  } finally {
    if (before === undefined) delete process.env.CARELAKE_GENERATOR_WORKER;
    else process.env.CARELAKE_GENERATOR_WORKER = before;
  }
  assert.equal(workerModeFromEnv({}), 'bundle');
  assert.equal(workerModeFromEnv({ CARELAKE_GENERATOR_WORKER: 'bundle' }), 'bundle');
  assert.throws(() => workerModeFromEnv({ CARELAKE_GENERATOR_WORKER: 'wasm' }), /must be "bundle" or "tsx"/);
});

test('the files of a fixed seed stay byte-identical (pinned hashes: a change here needs a version bump)', async (t) => {
  const dir = tempDir(t);
  const base = { outDir: path.join(dir, 'landing'), truthDir: path.join(dir, 'truth') };
  const first = await generate({ ...base, patients: 4_000, seed: 7, asOf: AS_OF, defectRate: 0.02 });
  const second = await generate({
    ...base,
    patients: 500,
    incremental: true,
    asOf: new Date('2026-11-21T12:00:00Z'),
    changeShare: 0.1,
    activityShare: 0.2,
  });
  const digest = (s: Awaited<ReturnType<typeof generate>>): string[] =>
    filesOf(s).map((b) => createHash('sha256').update(b).digest('hex').slice(0, 16));
  assert.equal(GENERATOR_VERSION, '1.0.0');
  assert.deepEqual([...digest(first), ...digest(second)], PINNED_HASHES);
});

// sha256 prefixes of landing and truth files (patients, claims, medical_events) of both batches above.
const PINNED_HASHES = [
  'f78e851f45267e51',
  '723e3b3270b1da3e',
  '286d68c4be309437',
  '780d9cbd7d97eff7',
  'f95eb4db4c1ab774',
  'faa95208bdcfdedd',
  'ec10e3719e786fed',
  'fc50968479b2f8ae',
  '8e6652bb582a608e',
  'b711bf5b890d5d63',
  '68708e2b199b4665',
  '2d481ed72b66b684',
];
