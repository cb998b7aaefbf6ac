import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { autoWorkers, formatSummaryText } from '../../src/cli/commands/generate.ts';
import { readManifest } from '../../src/generator/manifest.ts';
import { capture, tempDir } from './helpers.ts';

test('generate --help documents every option', async () => {
  const { result, stdout } = await capture(() => main(['generate', '--help']));
  assert.equal(result, 0);
  for (const option of [
    '--patients',
    '--seed',
    '--out',
    '--truth',
    '--as-of',
    '--defect-rate',
    '--adt-share',
    '--lab-share',
    '--change-share',
    '--activity-share',
    '--incremental',
    '--keep-last',
    '--max-age',
    '--every',
    '--max-ticks',
    '--chunk-size',
    '--workers',
    '--format',
  ]) {
    assert.ok(stdout.includes(option), `help mentions ${option}`);
  }
});

test('generate --format json prints a machine-readable summary; text prints a short one', async (t) => {
  const dir = tempDir(t);
  const args = [
    'generate',
    '--patients',
    '300',
    '--seed',
    '6',
    '--as-of',
    '2026-11-20T12:00:00Z',
    '--out',
    path.join(dir, 'l'),
    '--truth',
    path.join(dir, 't'),
  ];
  const { result, stdout } = await capture(() => main([...args, '--format', 'json']));
  assert.equal(result, 0);
  const s = JSON.parse(stdout) as Record<string, unknown> & {
    files: { fileName: string; rows: number }[];
    rows: Record<string, number>;
  };
  assert.deepEqual(
    s.files.map((f) => f.fileName),
    ['patients_261120_1200.csv', 'claims_261120_1200.csv', 'medical_events_261120_1200.csv'],
  );
  assert.equal(s.files[1]?.rows, s.rows.claims);
  for (const key of [
    'rows',
    'defects',
    'seconds',
    'rowsPerSecond',
    'generatorVersion',
    'seed',
    'asOf',
    'people',
  ])
    assert.ok(key in s, key);
  const text = await capture(() =>
    main([
      'generate',
      '--patients',
      '20',
      '--incremental',
      '--as-of',
      '2026-11-20T13:00',
      '--out',
      path.join(dir, 'l'),
      '--truth',
      path.join(dir, 't'),
    ]),
  );
  assert.equal(text.result, 0);
  assert.match(text.stdout, /Generated batch 2 \(incremental\) as of 2026-11-20T13:00:00.000Z, seed 6/);
  assert.match(text.stdout, /rows\/s/);
});

test('bad options are rejected with exit code 2 and a message naming the option', async (t) => {
  const dir = tempDir(t);
  const base = ['generate', '--out', path.join(dir, 'l'), '--truth', path.join(dir, 't')];
  const cases: [string[], RegExp][] = [
    [['--patients', 'abc'], /--patients must be a whole number/],
    [['--patients', '0'], /--patients must be a whole number from 1/],
    [['--seed', '-4'], /--seed must be a whole number/],
    [['--defect-rate', '1.5'], /--defect-rate must be a number from 0 to 1/],
    [['--adt-share', 'lots'], /--adt-share/],
    [['--change-share', '2'], /--change-share must be a number from 0 to 1, got "2"/],
    [['--change-share', '-0.1'], /--change-share must be a number from 0 to 1/],
    [['--activity-share', 'often'], /--activity-share must be a number from 0 to 1, got "often"/],
    [['--incremental', '--adt-share', '0.7'], /--adt-share cannot be used with --incremental/],
    [['--incremental', '--lab-share', '0.5'], /--lab-share cannot be used with --incremental/],
    [['--as-of', 'yesterday'], /--as-of must be an ISO timestamp/],
    [['--as-of', '1999-01-01T00:00:00Z'], /years 2001/],
    [['--every', '10s'], /at least 1m/],
    [['--every', '61 * * * *'], /minute/],
    [['--every', '5m', '--as-of', '2026-11-20T12:00:00Z'], /cannot be combined/],
    [['--max-ticks', '2'], /--max-ticks needs --every/],
    [['--max-age', '7y'], /--max-age must be a duration/],
    [['--keep-last', '0'], /--keep-last/],
    [['--workers', 'many'], /--workers/],
    [['--chunk-size', '5'], /--chunk-size/],
    [['--format', 'xml'], /--format must be one of/],
    [['--incremental', '--patients', '5'], /needs an existing data set/],
  ];
  for (const [args, message] of cases) {
    const { result, stderr } = await capture(() => main([...base, ...args]));
    assert.equal(result, 2, `${args.join(' ')} → exit 2 (${stderr})`);
    assert.match(stderr, message);
  }
});

test('workers default to two threads only for big batches; the text summary lists deletions', () => {
  assert.equal(autoWorkers(1_000), 0);
  assert.ok(autoWorkers(1_000_000) >= 1);
  const text = formatSummaryText({
    generatorVersion: '1.0.0',
    seed: 1,
    batch: 3,
    incremental: true,
    asOf: '2026-11-20T12:00:00.000Z',
    landingDir: '/l',
    truthDir: '/t',
    files: [],
    rows: { patients: 0, claims: 0, medical_events: 0 },
    totalRows: 0,
    bytes: 0,
    people: { created: 0, changed: 0, active: 0, total: 10 },
    defects: {},
    deletedFiles: ['patients_261101_0000.csv'],
    seconds: 0.1,
    rowsPerSecond: 0,
  });
  assert.match(text, /deleted 1 old landing file\(s\): patients_261101_0000.csv/);
  assert.match(text, /0 injected \(none\)/);
});

test('generate --change-share and --activity-share: recorded by a new data set, per batch with --incremental', async (t) => {
  const dir = tempDir(t);
  const base = ['generate', '--out', path.join(dir, 'l'), '--truth', path.join(dir, 't'), '--format', 'json'];
  const first = await capture(() =>
    main([
      ...base,
      '--patients',
      '500',
      '--seed',
      '3',
      '--as-of',
      '2026-11-20T12:00:00Z',
      '--change-share',
      '0.2',
      '--activity-share',
      '0.1',
    ]),
  );
  assert.equal(first.result, 0, first.stderr);
  const second = await capture(() =>
    main([
      ...base,
      '--patients',
      '0',
      '--incremental',
      '--as-of',
      '2026-11-21T12:00:00Z',
      '--activity-share',
      '0',
    ]),
  );
  assert.equal(second.result, 0, second.stderr);
  const s2 = JSON.parse(second.stdout) as { people: { changed: number; active: number } };
  assert.equal(s2.people.active, 0, '--activity-share 0 for this batch');
  assert.ok(
    s2.people.changed > 60 && s2.people.changed < 145,
    `recorded change share 0.2: ${s2.people.changed}`,
  );
  const manifest = readManifest(path.join(dir, 't'));
  assert.deepEqual(
    manifest?.batches.map((b) => [b.changeShare, b.activityShare]),
    [
      [0.2, 0.1],
      [0.2, 0],
    ],
  );
  assert.equal(manifest?.options.activityShare, 0.1);
});
