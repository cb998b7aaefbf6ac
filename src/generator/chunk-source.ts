import { Worker } from 'node:worker_threads';
import { generateChunk, GeneratorValidationError, type ChunkSpec } from './chunk.ts';
import type { BatchContext } from './context.ts';
import { packChunk, transferList, type PackedChunk } from './packed-chunk.ts';
import { workerEntry, type WorkerEntry } from './worker-entry.ts';

/** Chunks a worker holds at once (one generating, one queued, so it never waits for the next). */
const PER_WORKER = 2;
/** Finished chunks waiting for their turn to be written, at most (bounds memory when one chunk is slow). */
const AHEAD_PER_WORKER = 3;

interface Deferred {
  readonly promise: Promise<PackedChunk>;
  resolve(p: PackedChunk): void;
  reject(e: Error): void;
}

function deferred(): Deferred {
  let resolve!: (p: PackedChunk) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<PackedChunk>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Produces the packed chunks of a batch in order, either on this thread or on worker threads
 * (`workers` > 0). A worker gets its next chunk as soon as it returns one (so both stay busy while
 * this thread writes), within a bound on finished chunks waiting to be written. The output is the
 * same either way: every chunk is a pure function of (context, person range).
 */
export async function* produceChunks(
  ctx: BatchContext,
  specs: readonly ChunkSpec[],
  workers: number,
  entry?: WorkerEntry,
): AsyncGenerator<PackedChunk> {
  if (workers <= 0 || specs.length <= 1) {
    for (const spec of specs) yield packChunk(generateChunk(ctx, spec), false);
    return;
  }
  const start = entry ?? (await workerEntry());
  const pool = Array.from({ length: Math.min(workers, specs.length) }, () => startWorker(ctx, start));
  // Released once consumed, so written chunks are not kept alive.
  const slots: (Deferred | undefined)[] = specs.map(() => deferred());
  const inFlight = pool.map(() => 0);
  const producer: number[] = [];
  const maxAhead = pool.length * AHEAD_PER_WORKER;
  let next = 0;
  let consumed = 0;
  let failed = false;
  const fill = (w: number): void => {
    const worker = pool[w] as Worker;
    while (
      !failed &&
      (inFlight[w] as number) < PER_WORKER &&
      next < specs.length &&
      next - consumed < maxAhead
    ) {
      const id = next++;
      producer[id] = w;
      inFlight[w] = (inFlight[w] as number) + 1;
      worker.postMessage({ id, spec: specs[id] });
    }
  };
  const fail = (error: Error): void => {
    failed = true;
    for (const s of slots) s?.reject(error);
  };
  pool.forEach((worker, w) => {
    worker.on('message', (msg: { id: number; packed?: PackedChunk; error?: string }) => {
      inFlight[w] = (inFlight[w] as number) - 1;
      if (msg.error !== undefined) fail(new GeneratorValidationError(msg.error));
      else {
        slots[msg.id]?.resolve(msg.packed as PackedChunk);
        fill(w);
      }
    });
    worker.once('error', fail);
  });
  try {
    for (let w = 0; w < pool.length; w++) fill(w);
    for (let id = 0; id < specs.length; id++) {
      const result = await (slots[id] as Deferred).promise;
      slots[id] = undefined;
      consumed = id + 1;
      for (let w = 0; w < pool.length; w++) fill(w);
      yield result;
      // The consumer is done with the chunk (it writes synchronously): its buffers go back to the
      // worker that made them, for reuse.
      if (!failed) {
        const list = transferList(result);
        (pool[producer[id] as number] as Worker).postMessage({ recycle: list }, list);
      }
    }
  } finally {
    failed = true;
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

function startWorker(ctx: BatchContext, entry: WorkerEntry): Worker {
  // A larger young generation: chunk generation makes many short-lived strings.
  const worker = new Worker(entry.source, {
    eval: entry.eval,
    workerData: { ctx },
    resourceLimits: { maxYoungGenerationSizeMb: 64 },
  });
  worker.unref();
  return worker;
}
