import type { BatchContext } from './context.ts';
import { creatingBatch } from './context.ts';
import { yearsBetween } from './dates.ts';
import { addressIn, basePerson, clip, premium, randomAddress, randomPhone, type Person } from './people.ts';
import { hashUnit, Rng, STREAM } from './prng.ts';
import { INSURANCE_PLANS } from './tables/codes.ts';
import { CITIES } from './tables/places.ts';

/**
 * Did person `index` change attributes in batch `batch` (an incremental batch after their creation)?
 * `share` is that batch's change share (default: the current batch's).
 */
export function changedIn(ctx: BatchContext, index: number, batch: number, share = ctx.changeShare): boolean {
  return hashUnit(ctx.seedLo, STREAM.changes, index, batch) < share;
}

/** Is person `index` active (new claims and events) in incremental batch `batch`? */
export function activeIn(ctx: BatchContext, index: number, batch: number): boolean {
  return hashUnit(ctx.seedLo ^ ctx.seedHi, STREAM.activity, index, batch) < ctx.activityShare;
}

export type ChangeKind = 'move' | 'plan' | 'bmi' | 'smoker';

/** Applies the change of batch `batch` to `p` (a move, a plan change, a new BMI or smoker status). */
export function applyChange(
  ctx: BatchContext,
  rng: Rng,
  p: Person,
  batch: number,
  asOfDay: number,
): ChangeKind[] {
  rng.reseed(ctx.seedLo, ctx.seedHi, STREAM.changes, p.index, batch);
  const kinds: ChangeKind[] = [];
  const u = rng.next();
  const age = yearsBetween(p.birthDay, asOfDay);
  // Children under 14 do not smoke: their smoking-status change becomes a BMI change.
  const first: ChangeKind = u < 0.35 ? 'move' : u < 0.6 ? 'plan' : u < 0.85 || age < 14 ? 'bmi' : 'smoker';
  kinds.push(first);
  if (rng.chance(0.25)) kinds.push(first === 'bmi' ? 'plan' : 'bmi');
  for (const kind of kinds) {
    if (kind === 'move') {
      const sameCity = rng.chance(0.5)
        ? CITIES.find((c) => c.city === p.address.city && c.state === p.address.state)
        : undefined;
      const before = p.address.line1;
      p.address = sameCity ? addressIn(rng, sameCity) : randomAddress(rng);
      if (p.address.line1 === before) {
        p.address = { ...p.address, line1: before.replace(/^\d+/, (d) => String((Number(d) % 9899) + 1)) };
      }
      if (rng.chance(0.5)) p.phone = randomPhone(rng, p.address.areaCode);
    } else if (kind === 'plan') {
      const plans = INSURANCE_PLANS.map((x) => x[0]).filter((x) => x !== p.plan);
      p.plan = rng.pick(plans);
    } else if (kind === 'bmi') {
      let bmi = Math.round(clip(p.bmi + rng.normal(0, 1.8), 16, 50) * 10) / 10;
      if (bmi === p.bmi) bmi = p.bmi >= 49.9 ? p.bmi - 0.5 : Math.round((p.bmi + 0.3) * 10) / 10;
      p.bmi = bmi;
    } else {
      p.smoker = !p.smoker;
    }
  }
  p.charges = premium(rng, age, p.bmi, p.children, p.smoker);
  return kinds;
}

/** The person at `index` as of batch `batch`: the base state with every change up to that batch. */
export function personAsOf(ctx: BatchContext, rng: Rng, index: number, batch: number): Person {
  const p = basePerson(ctx, rng, index);
  const created = creatingBatch(ctx, index).batch;
  for (const b of ctx.batches) {
    if (b.batch <= created || b.batch > batch) continue;
    if (changedIn(ctx, index, b.batch, b.changeShare)) applyChange(ctx, rng, p, b.batch, b.asOfDay);
  }
  return p;
}
