/**
 * File operations the engine runs in the background (writing the database file out, deleting working
 * files), at most `limit` at once.
 *
 * Node runs them on its thread pool, four threads unless UV_THREADPOOL_SIZE says otherwise, and the
 * engine's client runs every statement on that same pool. A deletion or a sync can block its thread
 * for seconds while the kernel writes pages out to the disk; with every thread so blocked, a statement
 * waits for a free one. In a 1M-people first load, a `SELECT COUNT(*)` of a small table waited 1.1 s
 * (95 ms of CPU) behind a sync and the deletions of the step before. With two such operations at most
 * in the default pool, statements always find a thread (in a pool of two threads or one, they can still
 * wait behind the one operation that runs).
 */

/**
 * How many background file operations leave a thread of Node's pool free for statements: two in the
 * default pool of four threads, one in a pool of three or fewer (UV_THREADPOOL_SIZE).
 */
export function backgroundLimit(env: NodeJS.ProcessEnv): number {
  const configured = Number.parseInt(env['UV_THREADPOOL_SIZE'] ?? '', 10);
  const pool = Number.isFinite(configured) && configured > 0 ? configured : 4;
  return Math.max(1, Math.min(2, pool - 2));
}

/** Runs background file operations in the order they come, at most `limit` at once. */
export class BackgroundFileOps {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit = 2) {}

  /** Starts `op` once fewer than `limit` operations are running; settles as it does. */
  run<T>(op: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.running += 1;
        let started: Promise<T>;
        try {
          started = op();
        } catch (error: unknown) {
          started = Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
        void started.then(resolve, reject).finally(() => {
          this.running -= 1;
          this.waiting.shift()?.();
        });
      };
      if (this.running < this.limit) start();
      else this.waiting.push(start);
    });
  }

  /** Operations running now (at most `limit`). */
  get active(): number {
    return this.running;
  }

  /** Operations waiting for one of the running ones to end. */
  get queued(): number {
    return this.waiting.length;
  }
}
