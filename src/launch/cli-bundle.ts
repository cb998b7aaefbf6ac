import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleModule } from './bundle.ts';
import { BUNDLE_FILE, MANIFEST_FILE, MANIFEST_FORMAT, PACKAGE_ROOT } from './launcher.js';
import { makeDirectory } from '../support/files.ts';

/**
 * The CLI as one JavaScript module: src/cli/main.ts and every module it imports (npm packages stay
 * imports), with a linked source map, and a manifest of the source files it was built from (with their
 * modification time and size) that `freshBundle` (launcher.js) checks before each start.
 *
 * Started through the bundle, `carelake --version` took 0.23-0.25 s instead of 0.76-0.92 s through tsx,
 * `carelake status` 0.26 s instead of 1.07 s: tsx compiles nothing then, and Node links one module
 * instead of about 130.
 */

/** Files that change how the sources compile, checked with the sources. */
const BUILD_FILES = ['package.json', 'tsconfig.json'];

/** A source changed less than this long before the build began may be newer than what was bundled. */
const SETTLE_MS = 2000;

/**
 * Builds the bundle of `entry` (default src/cli/main.ts of the package at `root`) into `dir` and returns
 * its URL. The files are written under temporary names and renamed, the manifest last, so a start that
 * reads the manifest finds the bundle it describes; processes building at once each write whole files.
 * No manifest is written when a source changed during the build (the next start builds again), and
 * the manifest of an earlier bundle is removed before this one is written.
 */
export async function buildCliBundle(
  dir: string,
  root: string = PACKAGE_ROOT,
  entry: string = path.join(root, 'src', 'cli', 'main.ts'),
): Promise<string> {
  const started = Date.now();
  const outfile = path.join(dir, BUNDLE_FILE);
  const bundle = await bundleModule(entry, { outfile, packagesExternal: true, sourcemap: true, root });
  const inputs = [...bundle.inputs, ...BUILD_FILES.filter((f) => fs.existsSync(path.join(root, f)))].map(
    (file): [string, number, number] => {
      const stat = fs.statSync(path.resolve(root, file));
      return [file, stat.mtimeMs, stat.size];
    },
  );
  makeDirectory(dir);
  const temporary = (file: string): string => `${file}.${process.pid}.tmp`;
  // The manifest of an earlier bundle goes first: it would describe sources this bundle was not built
  // from, and sources given back their old dates and sizes (a copy that keeps them) would match it.
  const manifest = path.join(dir, MANIFEST_FILE);
  fs.rmSync(manifest, { force: true });
  for (const file of bundle.files) {
    fs.writeFileSync(temporary(file.path), file.text);
    fs.renameSync(temporary(file.path), file.path);
  }
  if (inputs.every(([, mtimeMs]) => mtimeMs < started - SETTLE_MS)) {
    fs.writeFileSync(temporary(manifest), JSON.stringify({ format: MANIFEST_FORMAT, inputs }) + '\n');
    fs.renameSync(temporary(manifest), manifest);
  }
  return pathToFileURL(outfile).href;
}
