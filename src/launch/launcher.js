// How bin/carelake.js finds the CLI bundle: plain JavaScript, since it runs before any TypeScript
// loader. The bundle is built by cli-bundle.ts; the manifest format is shared with it (MANIFEST_FORMAT).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The package's root folder (where package.json is). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The manifest's format: a bundle written under another format is built again. */
export const MANIFEST_FORMAT = 1;

/** The bundle, its source map and its manifest in the cache folder. */
export const BUNDLE_FILE = 'cli.mjs';
export const MANIFEST_FILE = 'cli.json';

/**
 * The folder holding the CLI bundle: node_modules/.cache/carelake under the package root, the
 * conventional place for a tool's derived files. The bundle imports npm packages by name, and Node
 * finds them from there (a folder outside the package would not find them).
 */
export function cliCacheDir(root = PACKAGE_ROOT) {
  return path.join(root, 'node_modules', '.cache', 'carelake');
}

/**
 * The URL of the bundle in `dir` if it was built from the sources as they are now: every input the
 * manifest lists (relative to `root`) has the modification time and size it had when the bundle was
 * built. Else (no bundle, another format, a source changed, added to an import or gone) undefined.
 */
export function freshBundle(dir, root = PACKAGE_ROOT) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest === null || manifest.format !== MANIFEST_FORMAT || !Array.isArray(manifest.inputs))
    return undefined;
  if (manifest.inputs.length === 0) return undefined;
  for (const input of manifest.inputs) {
    if (!Array.isArray(input) || input.length !== 3) return undefined;
    const [file, mtimeMs, size] = input;
    let stat;
    try {
      stat = fs.statSync(path.resolve(root, String(file)));
    } catch {
      return undefined;
    }
    if (stat.mtimeMs !== mtimeMs || stat.size !== size) return undefined;
  }
  const bundle = path.join(dir, BUNDLE_FILE);
  return fs.existsSync(bundle) ? pathToFileURL(bundle).href : undefined;
}
