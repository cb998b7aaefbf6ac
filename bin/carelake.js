#!/usr/bin/env node
// Entry point. The CLI runs from one JavaScript bundle of its TypeScript sources, built on the first
// start and again whenever a source changed (src/launch); if none can be built (CARELAKE_BUNDLE=off,
// a read-only folder), through the tsx loader, which compiles each module at every start.
import { cliCacheDir, freshBundle } from '../src/launch/launcher.js';

const useBundle = process.env.CARELAKE_BUNDLE !== 'off';
const dir = cliCacheDir();
let cli = useBundle ? freshBundle(dir) : undefined;
if (cli === undefined) {
  const { register } = await import('tsx/esm/api');
  register();
  if (useBundle) {
    const { buildCliBundle } = await import('../src/launch/cli-bundle.ts');
    cli = await buildCliBundle(dir).catch(() => undefined);
  }
}
const { main, toleratePipeClose } = await import(cli ?? '../src/cli/main.ts');
toleratePipeClose(process.stdout);
toleratePipeClose(process.stderr);
process.exitCode = await main(process.argv.slice(2));
