import { parseDuration } from './housekeeping.ts';
import { errorMessage } from '../support/errors.ts';

/**
 * Scheduling for `generate --every`: a fixed interval (`15m`, `1h`; at least one minute) or a
 * 5-field cron expression (`*\/5 * * * *`: minute hour day-of-month month day-of-week, evaluated in
 * UTC; lists, ranges, steps, month and weekday names; 0 and 7 are Sunday; when both day fields are
 * restricted a day matching either runs, as in Vixie cron).
 */
export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

export type Schedule =
  | { readonly kind: 'interval'; readonly ms: number }
  | { readonly kind: 'cron'; readonly cron: CronSchedule; readonly text: string };

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function parseValue(
  text: string,
  min: number,
  names: readonly string[] | undefined,
  nameBase: number,
): number {
  const upper = text.toUpperCase();
  if (names) {
    const i = names.indexOf(upper);
    if (i >= 0) return i + nameBase;
  }
  if (!/^\d+$/.test(text)) throw new Error(`"${text}" is not a number`);
  const n = Number(text);
  if (n < min) throw new Error(`${n} is below ${min}`);
  return n;
}

function parseField(
  text: string,
  label: string,
  min: number,
  max: number,
  names?: readonly string[],
  nameBase = 0,
): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`cron ${label} field "${text}" is malformed`);
    const [, range, stepText] = m as unknown as [string, string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw new Error(`cron ${label} step must be at least 1`);
    let lo: number;
    let hi: number;
    try {
      if (range === '*') {
        lo = min;
        hi = max;
      } else if (range.includes('-')) {
        const [a, b] = range.split('-') as [string, string];
        lo = parseValue(a, min, names, nameBase);
        hi = parseValue(b, min, names, nameBase);
      } else {
        lo = parseValue(range, min, names, nameBase);
        hi = stepText === undefined ? lo : max;
      }
    } catch (error: unknown) {
      throw new Error(`cron ${label} field "${text}": ${errorMessage(error)}`);
    }
    if (lo > hi || hi > max) throw new Error(`cron ${label} field "${text}" is out of range ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseCron(expression: string): CronSchedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5)
    throw new Error(
      `a cron expression has 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}: "${expression}"`,
    );
  const [mi, h, dom, mon, dow] = fields as [string, string, string, string, string];
  const daysOfWeek = parseField(dow, 'day-of-week', 0, 7, DAY_NAMES);
  if (daysOfWeek.has(7)) {
    daysOfWeek.delete(7);
    daysOfWeek.add(0);
  }
  return {
    minutes: parseField(mi, 'minute', 0, 59),
    hours: parseField(h, 'hour', 0, 23),
    daysOfMonth: parseField(dom, 'day-of-month', 1, 31),
    months: parseField(mon, 'month', 1, 12, MONTH_NAMES, 1),
    daysOfWeek,
    domRestricted: dom !== '*',
    dowRestricted: dow !== '*',
  };
}

/** The first minute strictly after `after` that the cron expression matches (UTC). */
export function nextCronTime(cron: CronSchedule, after: Date): Date {
  let t = Math.floor(after.getTime() / 60_000) * 60_000 + 60_000;
  for (let guard = 0; guard < 1_000_000; guard++) {
    const d = new Date(t);
    const y = d.getUTCFullYear();
    const mo = d.getUTCMonth();
    const day = d.getUTCDate();
    const h = d.getUTCHours();
    if (!cron.months.has(mo + 1)) {
      t = Date.UTC(y, mo + 1, 1);
      continue;
    }
    const domOk = cron.daysOfMonth.has(day);
    const dowOk = cron.daysOfWeek.has(d.getUTCDay());
    const dayOk =
      cron.domRestricted && cron.dowRestricted
        ? domOk || dowOk
        : cron.domRestricted
          ? domOk
          : cron.dowRestricted
            ? dowOk
            : true;
    if (!dayOk) {
      t = Date.UTC(y, mo, day + 1);
      continue;
    }
    if (!cron.hours.has(h)) {
      t = Date.UTC(y, mo, day, h + 1);
      continue;
    }
    if (!cron.minutes.has(d.getUTCMinutes())) {
      t += 60_000;
      continue;
    }
    return d;
  }
  throw new Error('the cron expression matches no date');
}

/** Parses `--every`: a duration of at least one minute, or a 5-field cron expression. */
export function parseSchedule(text: string): Schedule {
  const ms = parseDuration(text);
  if (ms !== undefined) {
    if (ms < 60_000)
      throw new Error(`--every must be at least 1m (extracts are named by the minute), got "${text}"`);
    return { kind: 'interval', ms };
  }
  if (text.trim().split(/\s+/).length === 5) {
    const cron = parseCron(text);
    nextCronTime(cron, new Date(0)); // rejects expressions that never match (e.g. 30 February)
    return { kind: 'cron', cron, text };
  }
  throw new Error(
    `--every must be an interval like 15m, 1h, 1d or a cron expression like "*/5 * * * *", got "${text}"`,
  );
}

/** When the tick after `previous` is due (`start` = when the schedule started, for the first tick). */
export function nextTick(schedule: Schedule, previous: Date | undefined, start: Date): Date {
  if (schedule.kind === 'interval') return previous ? new Date(previous.getTime() + schedule.ms) : start;
  return nextCronTime(schedule.cron, previous ?? new Date(start.getTime() - 1));
}

/** Time, injectable for tests. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    }),
};

export interface ScheduleRun {
  readonly schedule: Schedule;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  /** Stop after this many ticks (default: until the signal aborts). */
  readonly maxTicks?: number | undefined;
  /** Runs one tick; `due` is the scheduled time of the tick. */
  readonly onTick: (due: Date, tick: number) => Promise<void>;
}

/** Runs ticks on the schedule until the signal aborts or `maxTicks` ticks ran; returns the tick count. */
export async function runSchedule(run: ScheduleRun): Promise<number> {
  const start = run.clock.now();
  let previous: Date | undefined;
  let ticks = 0;
  while (!run.signal.aborted && (run.maxTicks === undefined || ticks < run.maxTicks)) {
    let due = nextTick(run.schedule, previous, start);
    const now = run.clock.now();
    // A tick that is already late (a slow batch) is skipped forward, not run in a burst.
    if (run.schedule.kind === 'interval') {
      while (due.getTime() + run.schedule.ms <= now.getTime())
        due = new Date(due.getTime() + run.schedule.ms);
    } else if (due.getTime() + 60_000 <= now.getTime()) {
      due = nextCronTime(run.schedule.cron, new Date(now.getTime() - 60_000));
    }
    const wait = due.getTime() - now.getTime();
    if (wait > 0) await run.clock.sleep(wait, run.signal);
    if (run.signal.aborted) break;
    ticks++;
    await run.onTick(due, ticks);
    previous = due;
  }
  return ticks;
}
