/**
 * Bundle render benchmark: the time `renderBundle()` takes (first call, then the median of 20),
 * wall and CPU, and the size of what it renders. The Spark parity run prints its own figures
 * (`CARELAKE_REQUIRE_SPARK=1 node --import tsx --test test/spark/parity.test.ts`).
 *
 *   npm run bench:bundle
 */
import os from 'node:os';
import { renderBundle } from '../src/renderer/index.ts';

function timed(): { wallMs: number; cpuMs: number; files: number; bytes: number } {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const b = renderBundle();
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return {
    wallMs,
    cpuMs: (used.user + used.system) / 1000,
    files: b.files.length,
    bytes: b.files.reduce((s, f) => s + Buffer.byteLength(f.content), 0),
  };
}

const first = timed();
const runs = Array.from({ length: 20 }, timed).sort((a, b) => a.wallMs - b.wallMs);
const median = runs[10] ?? first;
console.log(
  JSON.stringify(
    {
      files: first.files,
      bytes: first.bytes,
      firstRender: { wallMs: +first.wallMs.toFixed(1), cpuMs: +first.cpuMs.toFixed(1) },
      medianOf20: { wallMs: +median.wallMs.toFixed(1), cpuMs: +median.cpuMs.toFixed(1) },
      loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
    },
    null,
    2,
  ),
);
