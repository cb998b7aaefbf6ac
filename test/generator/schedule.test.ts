import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseGenerateOptions, runGenerateCommand } from '../../src/cli/commands/generate.ts';
import { readManifest } from '../../src/generator/manifest.ts';
import {
  nextCronTime,
  parseCron,
  parseSchedule,
  runSchedule,
  type Clock,
} from '../../src/generator/schedule.ts';
import { tempDir } from './helpers.ts';

const at = (iso: string): Date => new Date(iso);

test('cron fields: *, lists, ranges, steps, names; Sunday is 0 or 7', () => {
  const c = parseCron('*/15 9-17 * JAN,jul MON-FRI');
  assert.deepEqual([...c.minutes], [0, 15, 30, 45]);
  assert.deepEqual([...c.hours], [9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.deepEqual([...c.months], [1, 7]);
  assert.deepEqual([...c.daysOfWeek], [1, 2, 3, 4, 5]);
  assert.equal(c.domRestricted, false);
  assert.deepEqual([...parseCron('0 0 * * 7').daysOfWeek], [0]);
  assert.deepEqual([...parseCron('5/20 * * * *').minutes], [5, 25, 45]);
  assert.deepEqual([...parseCron('1-10/3 * * * *').minutes], [1, 4, 7, 10]);
});

test('cron expressions that are malformed or out of range are rejected with a clear message', () => {
  assert.throws(() => parseCron('* * * *'), /5 fields/);
  assert.throws(() => parseCron('60 * * * *'), /minute.*out of range/);
  assert.throws(() => parseCron('* 24 * * *'), /hour/);
  assert.throws(() => parseCron('* * 0 * *'), /day-of-month/);
  assert.throws(() => parseCron('* * * 13 *'), /month/);
  assert.throws(() => parseCron('*/0 * * * *'), /step/);
  assert.throws(() => parseCron('a * * * *'), /minute/);
  assert.throws(() => parseCron('5-1 * * * *'), /out of range/);
  assert.throws(() => parseCron('1//2 * * * *'), /malformed/);
  assert.throws(() => parseSchedule('0 0 30 2 *'), /matches no date/);
  assert.throws(() => parseSchedule('30s'), /at least 1m/);
  assert.throws(() => parseSchedule('often'), /interval like 15m/);
});

test('next cron time (UTC): every 5 minutes, business hours, day-of-month OR day-of-week, month rollover', () => {
  const every5 = parseCron('*/5 * * * *');
  assert.equal(nextCronTime(every5, at('2026-11-20T12:03:27Z')).toISOString(), '2026-11-20T12:05:00.000Z');
  assert.equal(nextCronTime(every5, at('2026-11-20T12:05:00Z')).toISOString(), '2026-11-20T12:10:00.000Z');
  const business = parseCron('30 9 * * MON-FRI');
  assert.equal(nextCronTime(business, at('2026-11-20T10:00:00Z')).toISOString(), '2026-11-23T09:30:00.000Z'); // Fri → Mon
  const either = parseCron('0 0 1 * SUN');
  assert.equal(nextCronTime(either, at('2026-11-20T00:00:00Z')).toISOString(), '2026-11-22T00:00:00.000Z'); // Sunday first
  assert.equal(
    nextCronTime(parseCron('0 0 29 2 *'), at('2026-03-01T00:00:00Z')).toISOString(),
    '2028-02-29T00:00:00.000Z',
  );
  assert.equal(
    nextCronTime(parseCron('15 3 * DEC *'), at('2026-12-31T03:15:00Z')).toISOString(),
    '2027-12-01T03:15:00.000Z',
  );
});

/** A clock whose sleep advances time instantly. */
function fakeClock(start: string): Clock & { slept: number[] } {
  let now = at(start).getTime();
  const slept: number[] = [];
  return {
    slept,
    now: () => new Date(now),
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

test('the scheduler ticks on an interval and on cron, stops after max ticks or when aborted', async () => {
  const clock = fakeClock('2026-11-20T12:00:10Z');
  const due: string[] = [];
  const n = await runSchedule({
    schedule: parseSchedule('15m'),
    clock,
    signal: new AbortController().signal,
    maxTicks: 3,
    onTick: async (d) => void due.push(d.toISOString()),
  });
  assert.equal(n, 3);
  assert.deepEqual(due, ['2026-11-20T12:00:10.000Z', '2026-11-20T12:15:10.000Z', '2026-11-20T12:30:10.000Z']);
  assert.deepEqual(clock.slept, [900_000, 900_000]);

  const cronClock = fakeClock('2026-11-20T12:03:00Z');
  const cronDue: string[] = [];
  const controller = new AbortController();
  const ticks = await runSchedule({
    schedule: parseSchedule('*/5 * * * *'),
    clock: cronClock,
    signal: controller.signal,
    onTick: async (d, k) => {
      cronDue.push(d.toISOString());
      if (k === 2) controller.abort();
    },
  });
  assert.equal(ticks, 2);
  assert.deepEqual(cronDue, ['2026-11-20T12:05:00.000Z', '2026-11-20T12:10:00.000Z']);
});

test('missed interval ticks collapse into one (the latest), not a burst', async () => {
  let now = at('2026-11-20T12:00:00Z').getTime();
  const due: string[] = [];
  await runSchedule({
    schedule: parseSchedule('1m'),
    clock: { now: () => new Date(now), sleep: async (ms) => void (now += ms) },
    signal: new AbortController().signal,
    maxTicks: 2,
    onTick: async (d) => {
      due.push(d.toISOString());
      now += 150_000; // a slow batch: 2.5 minutes
    },
  });
  assert.deepEqual(due, ['2026-11-20T12:00:00.000Z', '2026-11-20T12:02:00.000Z']);
});

test('generate --every writes a first batch, then one incremental batch per tick', async (t) => {
  const dir = tempDir(t);
  const truth = path.join(dir, 'truth');
  const opts = parseGenerateOptions({
    patients: '40',
    seed: '4',
    out: path.join(dir, 'landing'),
    truth,
    defectRate: '0.005',
    adtShare: '0.6',
    labShare: '0.55',
    every: '*/5 * * * *',
    maxTicks: '3',
    chunkSize: '10000',
    workers: 'auto',
    format: 'json',
  });
  let printed = '';
  const out = { write: (s: string) => ((printed += s), true) } as unknown as NodeJS.WritableStream;
  const summaries = await runGenerateCommand(opts, {
    clock: fakeClock('2026-11-20T12:01:30Z'),
    signal: new AbortController().signal,
    out,
  });
  assert.deepEqual(
    summaries.map((s) => [s.batch, s.incremental, s.asOf]),
    [
      [1, false, '2026-11-20T12:05:00.000Z'],
      [2, true, '2026-11-20T12:10:00.000Z'],
      [3, true, '2026-11-20T12:15:00.000Z'],
    ],
  );
  assert.equal(readManifest(truth)?.people, 120);
  const lines = printed.trim().split('\n');
  assert.equal(lines.length, 3, 'one JSON line per tick');
  assert.equal(JSON.parse(lines[2] as string).batch, 3);
});
