/** Drives the real CLI in-process and captures what it prints. */
import { main } from '../../src/cli/main.ts';

/** Runs the CLI with `argv`; returns the exit code and what it wrote to stdout and stderr. */
export async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  const prevExit = process.exitCode;
  process.exitCode = undefined;
  // The CLI writes strings; the test runner's own reporting (Buffers) passes through untouched.
  const capture = (
    sink: (s: string) => void,
    original: typeof process.stdout.write,
  ): typeof process.stdout.write =>
    ((c: string | Uint8Array, ...rest: unknown[]) => {
      if (typeof c === 'string') {
        sink(c);
        return true;
      }
      return (original as (...args: unknown[]) => boolean)(c, ...rest);
    }) as typeof process.stdout.write;
  process.stdout.write = capture((s) => (out += s), stdout);
  process.stderr.write = capture((s) => (err += s), stderr);
  let code: number;
  try {
    code = await main(argv);
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
    process.exitCode = prevExit;
  }
  return { code, out, err };
}
