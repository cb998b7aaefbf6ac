/**
 * The engine's background file operations: at most two at once on Node's thread pool, so that a
 * statement always finds a thread while syncs and deletions block theirs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BackgroundFileOps, backgroundLimit } from '../../src/engine/background.ts';

/** An operation that runs until its gate opens (or fails when told to). */
function gated(
  log: string[],
  name: string,
): { op: () => Promise<string>; open: () => void; fail: () => void } {
  let open = (): void => undefined;
  let fail = (): void => undefined;
  const op = (): Promise<string> => {
    log.push(`start ${name}`);
    return new Promise<string>((resolve, reject) => {
      open = () => resolve(name);
      fail = () => reject(new Error(`${name} failed`));
    });
  };
  return { op, open: () => open(), fail: () => fail() };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('background file operations', () => {
  test('run two at a time, the rest in the order they came', async () => {
    const ops = new BackgroundFileOps(2);
    const log: string[] = [];
    const gates = ['a', 'b', 'c', 'd', 'e'].map((n) => gated(log, n));
    const results = gates.map((g) => ops.run(g.op));
    await tick();
    assert.deepEqual(log, ['start a', 'start b']);
    assert.equal(ops.active, 2);
    assert.equal(ops.queued, 3);

    gates[1]?.open();
    await tick();
    assert.deepEqual(log, ['start a', 'start b', 'start c'], 'one ends, the next waiting one starts');
    assert.equal(ops.active, 2);

    // Each gate opens once its operation has started (d after a ends, e after c ends).
    for (const g of gates) {
      g.open();
      await tick();
    }
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(log, ['start a', 'start b', 'start c', 'start d', 'start e']);
    assert.equal(ops.active, 0);
    assert.equal(ops.queued, 0);
  });

  test('a failed operation rejects its own promise and frees its place', async () => {
    const ops = new BackgroundFileOps(1);
    const log: string[] = [];
    const first = gated(log, 'first');
    const second = gated(log, 'second');
    const failed = ops.run(first.op);
    const next = ops.run(second.op);
    await tick();
    assert.deepEqual(log, ['start first']);
    first.fail();
    await assert.rejects(failed, /first failed/);
    await tick();
    assert.deepEqual(log, ['start first', 'start second']);
    second.open();
    assert.equal(await next, 'second');
  });

  test('an operation that throws before it returns a promise rejects, and the next one still runs', async () => {
    const ops = new BackgroundFileOps(1);
    const thrown = ops.run((): Promise<void> => {
      throw new Error('no such file');
    });
    const after = ops.run(() => Promise.resolve('ran'));
    await assert.rejects(thrown, /no such file/);
    assert.equal(await after, 'ran');
    assert.equal(ops.active, 0);
  });

  test('leave at least one thread of the pool to statements, two operations at most', () => {
    assert.equal(backgroundLimit({}), 2, 'the default pool of four threads');
    assert.equal(backgroundLimit({ UV_THREADPOOL_SIZE: '16' }), 2);
    assert.equal(backgroundLimit({ UV_THREADPOOL_SIZE: '3' }), 1);
    assert.equal(backgroundLimit({ UV_THREADPOOL_SIZE: '1' }), 1, 'one operation still runs');
    assert.equal(backgroundLimit({ UV_THREADPOOL_SIZE: 'many' }), 2, 'an unreadable size is the default');
  });
});
