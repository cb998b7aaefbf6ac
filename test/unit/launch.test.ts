import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildCliBundle } from '../../src/launch/cli-bundle.ts';
import { cliCacheDir, freshBundle, MANIFEST_FILE, PACKAGE_ROOT } from '../../src/launch/launcher.js';
import { VERSION } from '../../src/cli/main.ts';

const LONG_AGO = new Date('2026-01-01T00:00:00Z');

/** A tiny package: an entry importing a module that reads a file next to itself, all dated long ago. */
function tinyPackage(): { root: string; cache: string; dep: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-launch-'));
  const cli = path.join(root, 'src', 'cli');
  fs.mkdirSync(cli, { recursive: true });
  fs.writeFileSync(path.join(root, 'package.json'), '{"type":"module"}\n');
  fs.writeFileSync(path.join(cli, 'greeting.txt'), 'hello from a file');
  const dep = path.join(cli, 'greeting.ts');
  fs.writeFileSync(
    dep,
    `import fs from 'node:fs';\nexport const greeting = (): string => fs.readFileSync(new URL('./greeting.txt', import.meta.url), 'utf8');\n`,
  );
  fs.writeFileSync(
    path.join(cli, 'main.ts'),
    `import { greeting } from './greeting.ts';\nexport async function main(): Promise<number> { return greeting().length; }\nexport const text = greeting;\n`,
  );
  for (const f of ['package.json', 'src/cli/greeting.ts', 'src/cli/main.ts'])
    fs.utimesSync(path.join(root, f), LONG_AGO, LONG_AGO);
  return { root, cache: path.join(root, 'cache'), dep };
}

test('the CLI bundle is used while its sources are unchanged and is stale once one changes', async () => {
  const { root, cache, dep } = tinyPackage();
  try {
    assert.equal(freshBundle(cache, root), undefined, 'no bundle built yet');
    const url = await buildCliBundle(cache, root);
    assert.equal(freshBundle(cache, root), url);
    // The bundle runs the sources, and a module finds a file next to its source, not next to the bundle.
    const bundled = (await import(url)) as { main(): Promise<number>; text(): string };
    assert.equal(bundled.text(), 'hello from a file');
    assert.equal(await bundled.main(), 'hello from a file'.length);
    const manifest = JSON.parse(fs.readFileSync(path.join(cache, MANIFEST_FILE), 'utf8')) as {
      inputs: [string, number, number][];
    };
    assert.deepEqual(manifest.inputs.map(([f]) => f).sort(), [
      'package.json',
      'src/cli/greeting.ts',
      'src/cli/main.ts',
    ]);

    // Same size, another modification time: stale.
    fs.utimesSync(dep, LONG_AGO, new Date('2026-02-01T00:00:00Z'));
    assert.equal(freshBundle(cache, root), undefined);
    fs.utimesSync(dep, LONG_AGO, LONG_AGO);
    assert.equal(freshBundle(cache, root), url, 'back as it was');
    // Same modification time, another size: stale.
    fs.appendFileSync(dep, '// more\n');
    fs.utimesSync(dep, LONG_AGO, LONG_AGO);
    assert.equal(freshBundle(cache, root), undefined);
    // A build file counts too.
    await buildCliBundle(cache, root);
    assert.ok(freshBundle(cache, root));
    fs.utimesSync(path.join(root, 'package.json'), LONG_AGO, new Date());
    assert.equal(freshBundle(cache, root), undefined);
    fs.utimesSync(path.join(root, 'package.json'), LONG_AGO, LONG_AGO);
    // A source gone: stale.
    fs.renameSync(dep, `${dep}.away`);
    assert.equal(freshBundle(cache, root), undefined);
    fs.renameSync(`${dep}.away`, dep);
    assert.ok(freshBundle(cache, root));
    // A manifest of another format, or damaged, or a bundle gone: not used.
    const manifestFile = path.join(cache, MANIFEST_FILE);
    const good = fs.readFileSync(manifestFile, 'utf8');
    fs.writeFileSync(manifestFile, good.replace('"format":1', '"format":0'));
    assert.equal(freshBundle(cache, root), undefined);
    fs.writeFileSync(manifestFile, good.slice(0, 20));
    assert.equal(freshBundle(cache, root), undefined);
    fs.writeFileSync(manifestFile, good);
    fs.rmSync(path.join(cache, 'cli.mjs'));
    assert.equal(freshBundle(cache, root), undefined);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a bundle built while a source had just changed gets no manifest, so the next start builds again', async () => {
  const { root, cache, dep } = tinyPackage();
  try {
    fs.utimesSync(dep, LONG_AGO, new Date());
    const url = await buildCliBundle(cache, root);
    assert.ok(fs.existsSync(new URL(url)), 'the bundle is written and can run this start');
    assert.equal(fs.existsSync(path.join(cache, MANIFEST_FILE)), false);
    assert.equal(freshBundle(cache, root), undefined);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a bundle built without a manifest never runs under the manifest of an earlier bundle', async () => {
  const { root, cache, dep } = tinyPackage();
  try {
    const first = await buildCliBundle(cache, root);
    assert.equal(freshBundle(cache, root), first);
    // The source changes (same size) just before the next build: that bundle gets no manifest.
    const original = fs.readFileSync(dep, 'utf8');
    fs.writeFileSync(dep, original.replace("'utf8'", "'UTF8'"));
    await buildCliBundle(cache, root);
    // The source goes back to the first build's date and size (a copy that keeps dates): the bundle in
    // the cache is the second one, so no manifest may call it fresh.
    fs.utimesSync(dep, LONG_AGO, LONG_AGO);
    assert.equal(fs.statSync(dep).size, Buffer.byteLength(original));
    assert.equal(freshBundle(cache, root), undefined);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('the cache folder is node_modules/.cache/carelake of the package', () => {
  assert.equal(cliCacheDir(), path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'carelake'));
  assert.equal(cliCacheDir('/opt/carelake'), '/opt/carelake/node_modules/.cache/carelake');
});

/**
 * A copy of this package (bin, src, data, package.json, tsconfig.json) whose node_modules links each
 * installed package: its bundle cache is its own, and npm packages resolve as in the real one.
 */
function packageCopy(): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-package-'));
  for (const entry of ['bin', 'src', 'data', 'package.json', 'tsconfig.json'])
    fs.cpSync(path.join(PACKAGE_ROOT, entry), path.join(copy, entry), { recursive: true });
  const modules = path.join(copy, 'node_modules');
  fs.mkdirSync(modules);
  for (const name of fs.readdirSync(path.join(PACKAGE_ROOT, 'node_modules')))
    if (name !== '.cache')
      fs.symlinkSync(path.join(PACKAGE_ROOT, 'node_modules', name), path.join(modules, name));
  // Dated long ago, as sources are that did not just change.
  const age = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) age(p);
      fs.utimesSync(p, LONG_AGO, LONG_AGO);
    }
  };
  for (const entry of ['bin', 'src', 'data', 'package.json', 'tsconfig.json']) {
    const p = path.join(copy, entry);
    if (fs.statSync(p).isDirectory()) age(p);
    fs.utimesSync(p, LONG_AGO, LONG_AGO);
  }
  return copy;
}

const runCopy = (copy: string, args: string[], env: NodeJS.ProcessEnv = {}): string =>
  execFileSync(process.execPath, [path.join(copy, 'bin', 'carelake.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  }).trim();

test('bin/carelake.js builds the bundle on its first start, runs from it, and rebuilds it after a change', () => {
  const copy = packageCopy();
  const cache = cliCacheDir(copy);
  try {
    assert.equal(runCopy(copy, ['--version']), VERSION);
    assert.ok(fs.existsSync(path.join(cache, 'cli.mjs')));
    assert.ok(fs.existsSync(path.join(cache, 'cli.mjs.map')));
    assert.ok(freshBundle(cache, copy), 'a fresh bundle of the sources');
    // The bundle runs a whole command: the generator's worker threads find their module and the
    // reference data from it.
    const out = path.join(copy, 'out');
    runCopy(copy, [
      'generate',
      '--patients',
      '300',
      '--out',
      `${out}/landing`,
      '--truth',
      `${out}/truth`,
      '--as-of',
      '2026-11-20T12:00:00Z',
    ]);
    assert.ok(fs.readdirSync(path.join(out, 'landing')).some((f) => f.startsWith('patients_')));
    // It runs from the bundle: a marker bundle in its place answers.
    const marker = `export function toleratePipeClose() {}\nexport async function main() { process.stdout.write('from the bundle'); return 0; }\n`;
    fs.writeFileSync(path.join(cache, 'cli.mjs'), marker);
    assert.equal(runCopy(copy, ['--version']), 'from the bundle');
    // CARELAKE_BUNDLE=off runs the sources through tsx and leaves the bundle alone.
    assert.equal(runCopy(copy, ['--version'], { CARELAKE_BUNDLE: 'off' }), VERSION);
    assert.equal(runCopy(copy, ['--version']), 'from the bundle');
    // A changed source makes the next start build the bundle again, from the source as it is.
    const main = path.join(copy, 'src', 'cli', 'main.ts');
    fs.writeFileSync(
      main,
      fs.readFileSync(main, 'utf8').replace(`VERSION = '${VERSION}'`, `VERSION = '${VERSION}-changed'`),
    );
    assert.equal(runCopy(copy, ['--version']), `${VERSION}-changed`);
    assert.match(fs.readFileSync(path.join(cache, 'cli.mjs'), 'utf8'), /-changed/);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});

test('without a writable cache folder the CLI still runs, through tsx', () => {
  const copy = packageCopy();
  try {
    // node_modules/.cache is a plain file: no folder can be made under it.
    fs.writeFileSync(path.join(copy, 'node_modules', '.cache'), 'not a folder');
    assert.equal(runCopy(copy, ['--version']), VERSION);
    assert.equal(freshBundle(cliCacheDir(copy), copy), undefined);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});
