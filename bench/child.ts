import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

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

/**
 * Copies a file and waits until the copy is on disk. A lakehouse copied just before a measured run
 * (gigabytes) is otherwise written back by the kernel while the run is timed: on this machine that made
 * the same incremental batch take 3.0–5.2 s instead of 2.7–2.8 s.
 */
export function copyFileDurably(from: string, to: string): void {
  fs.copyFileSync(from, to);
  syncFile(to);
}

/**
 * Waits until every written page of every file is on disk (sync(1)), before a measured run. The file
 * system commits its journal at the run's fsync, and in ordered mode that first writes out the data of
 * every file written since the last commit, so a batch generated (or a lakehouse copied) just before the
 * measured run would make its commit pay for those files. Landing files of a real batch arrive earlier
 * than the kernel's 30 s write-back. (The same incremental batch, each run after a sync: 2.25–2.36 s in
 * eight runs; the first run of a bench set still took 3.0–3.2 s in two sets of five.)
 */
export function settleDisk(): void {
  execFileSync('sync');
}

/** Waits until a file's written pages are on disk. */
export function syncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
