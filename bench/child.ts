import { execFileSync } from 'node:child_process';

/**
 * Benchmarks measure each phase in a child process of its own, so peak memory and CPU time belong to
 * that phase alone. The child is the bench script itself started with `--child <mode> <dir>`; it prints
 * its result as JSON on its last line.
 */
export function runChild(script: string, mode: string, dir: string): Record<string, unknown> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', script, '--child', mode, dir], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

/** Peak resident memory of this process so far, in MB. */
export const peakMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);
