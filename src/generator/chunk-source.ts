import { Worker } from 'node:worker_threads';
import { generateChunk, GeneratorValidationError, type ChunkSpec } from './chunk.ts';
import type { BatchContext } from './context.ts';
import { packChunk, type PackedChunk } from './packed-chunk.ts';

/**
 * Produces the packed chunks of a batch in order, either on this thread or on worker threads
 * (`workers` > 0, at most two chunks in flight per worker). The output is the same either way:
 * every chunk is a pure function of (context, person range).
 */
export async function* produceChunks(
  ctx: BatchContext,
  specs: readonly ChunkSpec[],
  workers: number,
): AsyncGenerator<PackedChunk> {
  if (workers <= 0 || specs.length <= 1) {
    for (const spec of specs) yield packChunk(generateChunk(ctx, spec), false);
    return;
  }
  const pool = Array.from({ length: Math.min(workers, specs.length) }, () => startWorker(ctx));
  const pending = new Map<number, Promise<PackedChunk>>();
  let next = 0;
  const dispatch = (): void => {
    const id = next++;
    const spec = specs[id];
    if (!spec) return;
    const worker = pool[id % pool.length] as Worker;
    pending.set(
      id,
      new Promise<PackedChunk>((resolve, reject) => {
        const onError = (error: Error): void => {
          worker.off('message', onMessage);
          reject(error);
        };
        const onMessage = (msg: { id: number; packed?: PackedChunk; error?: string }): void => {
          if (msg.id !== id) return;
          worker.off('message', onMessage);
          worker.off('error', onError);
          if (msg.error !== undefined) reject(new GeneratorValidationError(msg.error));
          else resolve(msg.packed as PackedChunk);
        };
        worker.on('message', onMessage);
        worker.once('error', onError);
        worker.postMessage({ id, spec });
      }),
    );
  };
  try {
    for (let i = 0; i < pool.length * 2; i++) dispatch();
    for (let id = 0; id < specs.length; id++) {
      const result = await (pending.get(id) as Promise<PackedChunk>);
      pending.delete(id);
      dispatch();
      yield result;
    }
  } finally {
    for (const p of pending.values()) p.catch(() => undefined);
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

function startWorker(ctx: BatchContext): Worker {
  const workerUrl = new URL('./chunk-worker.ts', import.meta.url).href;
  // The worker runs TypeScript like this thread does: it registers tsx's loader, then imports the module.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(workerUrl)}); });`;
  // A larger young generation: chunk generation makes many short-lived strings.
  const worker = new Worker(boot, {
    eval: true,
    workerData: { ctx },
    resourceLimits: { maxYoungGenerationSizeMb: 64 },
  });
  worker.unref();
  return worker;
}
