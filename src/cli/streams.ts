/**
 * Standard output and error of the `carelake` process when their reader goes away (`carelake sql … |
 * head`, a closed terminal). Node reports that as an unhandled EPIPE error with a stack trace, and the
 * process dies wherever it was, in the middle of a run's write if the report came then. Instead, the
 * closed stream is silenced: what the command still prints is dropped, and the command finishes its
 * work (a run commits, or rolls back as it would have) and ends with its own exit code.
 */
const CLOSED = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

export function toleratePipeClose(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (!CLOSED.has(error.code ?? '')) throw error;
    // Every later write succeeds without a reader (and without another error event).
    stream.write = ((...args: unknown[]) => {
      const done = args.find((a) => typeof a === 'function') as (() => void) | undefined;
      if (done) queueMicrotask(done);
      return true;
    }) as typeof stream.write;
  });
}

/**
 * Writes to standard output and waits while its reader is behind (a pipe that is full), so output of
 * any size goes out in pieces without piling up in memory. Also returns when the stream closes.
 */
export function writeOut(text: string): Promise<void> {
  const out = process.stdout;
  if (out.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      for (const event of ['drain', 'close', 'error'] as const) out.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'close', 'error'] as const) out.once(event, done);
  });
}
