import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Bundling carelake's TypeScript into one JavaScript module with the esbuild that tsx ships (tsx
 * depends on it, so no dependency of our own is needed). A bundle loads in a fraction of the time tsx
 * takes to compile and link each module on every start. `import.meta.url` keeps meaning each source
 * file's own URL, so files found relative to a module (the reference data, the generator's worker
 * module) are found from the bundle too.
 */

interface EsbuildLike {
  build(options: Record<string, unknown>): Promise<{
    outputFiles?: { path: string; text: string }[];
    metafile?: { inputs: Record<string, unknown> };
  }>;
}

export interface BundleOptions {
  /** Where the bundle will be written: names the source map's paths and its `sourceMappingURL`. */
  readonly outfile: string;
  /** Leave every npm package an import (resolved from the bundle's folder at run time). */
  readonly packagesExternal?: boolean;
  /** Write a linked source map next to the bundle. */
  readonly sourcemap?: boolean;
  /** The folder esbuild reports input paths relative to (its working directory). */
  readonly root?: string;
}

export interface Bundle {
  /** The output files, the bundle first (then its map), with the paths they are meant for. */
  readonly files: readonly { readonly path: string; readonly text: string }[];
  /** The source files bundled, relative to `root`. */
  readonly inputs: readonly string[];
}

/** The text the plugin replaces, spelled so that bundling this file leaves it alone. */
const MODULE_URL = ['import', 'meta', 'url'].join('.');

function esbuild(): EsbuildLike {
  const requireFromTsx = createRequire(fileURLToPath(import.meta.resolve('tsx/esm/api')));
  return requireFromTsx('esbuild') as EsbuildLike;
}

/** Bundles the TypeScript module `entry` (a path) and everything it imports. Writes nothing. */
export async function bundleModule(entry: string, options: BundleOptions): Promise<Bundle> {
  const result = await esbuild().build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    metafile: true,
    outfile: options.outfile,
    ...(options.root === undefined ? {} : { absWorkingDir: options.root }),
    ...(options.packagesExternal ? { packages: 'external' } : {}),
    ...(options.sourcemap ? { sourcemap: 'linked' } : {}),
    logLevel: 'silent',
    plugins: [
      {
        name: 'carelake-module-url',
        setup(build: {
          onLoad(
            o: { filter: RegExp },
            cb: (args: { path: string }) => { contents: string; loader: string },
          ): void;
        }) {
          build.onLoad({ filter: /\.ts$/ }, (args) => ({
            contents: readFileSync(args.path, 'utf8').replaceAll(
              MODULE_URL,
              JSON.stringify(pathToFileURL(args.path).href),
            ),
            loader: 'ts',
          }));
        },
      },
    ],
  });
  const files = [...(result.outputFiles ?? [])].sort((a, b) =>
    a.path.endsWith('.map') === b.path.endsWith('.map') ? 0 : a.path.endsWith('.map') ? 1 : -1,
  );
  if (files.length === 0) throw new Error('esbuild produced no output');
  return {
    files: files.map((f) => ({ path: f.path, text: f.text })),
    inputs: Object.keys(result.metafile?.inputs ?? {}),
  };
}
