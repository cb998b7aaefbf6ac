import { parentPort, workerData } from 'node:worker_threads';
import { generateChunk, type ChunkSpec } from './chunk.ts';
import { addSpareBuffers } from './byte-sink.ts';
import type { BatchContext } from './context.ts';
import { packChunk, transferList } from './packed-chunk.ts';
import { errorMessage } from '../support/errors.ts';

/** Worker thread: generates the chunks it is sent, for the batch context it was started with. */
const ctx = (workerData as { ctx: BatchContext }).ctx;
parentPort?.on('message', (msg: { id: number; spec: ChunkSpec } | { recycle: ArrayBuffer[] }) => {
  if ('recycle' in msg) {
    addSpareBuffers(msg.recycle);
    return;
  }
  try {
    const packed = packChunk(generateChunk(ctx, msg.spec), true);
    parentPort?.postMessage({ id: msg.id, packed }, transferList(packed));
  } catch (error: unknown) {
    parentPort?.postMessage({ id: msg.id, error: errorMessage(error) });
  }
});
