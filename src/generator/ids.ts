/**
 * Identifier schemes. Every id is a pure function of the person index (and batch), so ids never
 * collide, never get reused across batches, and do not depend on chunking. Local ids of the
 * source systems are scrambled by an affine permutation modulo 10^8 (a bijection), so they look
 * random but can be mapped back to the person index by the validator.
 *
 * - person (ground truth only): P + 7+ digits, P0000001 for index 0
 * - EHR_SYSTEM patient id: E + 8 digits;  ADT_SYSTEM: ADT + 8 digits;  LAB_SYSTEM: LB + 8 digits
 * - MRN: MRN + 8 digits;  insurance id: 2 letters + 9 digits
 * - claim id: CLM + batch (3) + scrambled person (8) + claim number (3)
 * - event id: EV + batch (3) + scrambled person (8) + event number (3)
 * Person indexes stay below MAX_PEOPLE; orphan references use the scrambled images of indexes in
 * [MAX_PEOPLE, 10^8), which therefore exist in no system.
 */
export const ID_SPACE = 100_000_000;
export const MAX_PEOPLE = 50_000_000;

/**
 * x mod m for whole numbers 0 <= x < 2^53 and m <= 10^9, without `%` (on numbers beyond int32 V8's
 * `%` is a slow floating-point remainder): the rounded quotient is off by at most one, so one
 * correction step gives exactly x % m.
 */
function mod(x: number, m: number): number {
  const r = x - Math.floor(x / m) * m;
  return r < 0 ? r + m : r >= m ? r - m : r;
}

function mulmod(i: number, a: number, m: number): number {
  const aHi = Math.floor(a / 65536);
  const aLo = a - aHi * 65536;
  // For i, m <= 10^9: (i·aHi mod m)·65536 + i·aLo < (m + i)·65536 < 2^53 is exact, so one final mod suffices.
  return mod(mod(i * aHi, m) * 65536 + i * aLo, m);
}

function modInverse(a: number, m: number): number {
  let [oldR, r] = [a, m];
  let [oldS, s] = [1, 0];
  while (r !== 0) {
    const q = Math.floor(oldR / r);
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % m) + m) % m;
}

class Permutation {
  private readonly inverse: number;
  constructor(
    private readonly a: number,
    private readonly b: number,
    private readonly m = ID_SPACE,
  ) {
    this.inverse = modInverse(a, m);
  }
  private lastIndex = -1;
  private lastImage = 0;
  apply(i: number): number {
    // A person's ids are asked for several times in a row (rows, copies, claims, events): one-entry cache.
    if (i !== this.lastIndex) {
      this.lastImage = mod(mulmod(i, this.a, this.m) + this.b, this.m);
      this.lastIndex = i;
    }
    return this.lastImage;
  }
  invert(v: number): number {
    return mulmod((v - this.b + this.m) % this.m, this.inverse, this.m);
  }
}

const EHR = new Permutation(48_271_793, 31_415_926);
const ADT = new Permutation(69_069_001, 27_182_818);
const LAB = new Permutation(22_695_477, 16_180_339);
const MRN = new Permutation(1_103_515_243, 14_142_135);
const ROW = new Permutation(39_916_801, 57_721_566);
const MEMBER = new Permutation(747_796_403, 123_456_789, 1_000_000_000);

const ZEROS = '0000000000';
/** 0000 … 9999: ids are padded from two precomputed halves instead of formatting a number each time. */
const PADDED4: readonly string[] = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'));

/** `n` (a whole number) zero-padded to 4 digits; n must be in [0, 9999]. */
export function pad4(n: number): string {
  return PADDED4[n] as string;
}

const PADDED3: readonly string[] = PADDED4.slice(0, 1_000).map((s) => s.slice(1));

function pad(n: number, width: number): string {
  if (n < 100_000_000) {
    const hi = Math.floor(n / 10_000);
    const lo = PADDED4[n - hi * 10_000] as string;
    if (width === 8) return (PADDED4[hi] as string) + lo;
    if (width === 7 && hi < 1_000) return (PADDED3[hi] as string) + lo;
    if (width === 9) return '0' + (PADDED4[hi] as string) + lo;
    if (width === 3 && n < 1_000) return PADDED3[n] as string;
  }
  const s = '' + n;
  return s.length >= width ? s : ZEROS.slice(0, width - s.length) + s;
}

export function personId(index: number): string {
  return 'P' + pad(index + 1, 7);
}

/**
 * A one-entry memo of a local-id function: a person's rows, copies, claims and events ask for the
 * same id in a row, and then get the same string (so later comparisons are pointer comparisons).
 */
class LastId {
  private index = -1;
  private id = '';
  constructor(private readonly make: (index: number) => string) {}
  of(index: number): string {
    if (index !== this.index) {
      this.id = this.make(index);
      this.index = index;
    }
    return this.id;
  }
}

const EHR_IDS = new LastId((index) => 'E' + pad(EHR.apply(index), 8));
const ADT_IDS = new LastId((index) => 'ADT' + pad(ADT.apply(index), 8));
const LAB_IDS = new LastId((index) => 'LB' + pad(LAB.apply(index), 8));

export function ehrId(index: number): string {
  return EHR_IDS.of(index);
}
export function adtId(index: number): string {
  return ADT_IDS.of(index);
}
export function labId(index: number): string {
  return LAB_IDS.of(index);
}
export function mrn(index: number): string {
  return 'MRN' + pad(MRN.apply(index), 8);
}

const LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';
export function insuranceId(index: number): string {
  const v = MEMBER.apply(index);
  return (LETTERS[v % 23] as string) + (LETTERS[Math.floor(v / 23) % 23] as string) + pad(v, 9);
}

/** The claim ids of one person in one batch share this prefix; the claim number (3 digits) follows. */
export function claimIdPrefix(batch: number, index: number): string {
  return 'CLM' + pad(batch, 3) + pad(ROW.apply(index), 8);
}
export function eventIdPrefix(batch: number, index: number): string {
  return 'EV' + pad(batch, 3) + pad(ROW.apply(index), 8);
}
export function rowNumber(k: number): string {
  return pad(k, 3);
}
export function claimId(batch: number, index: number, k: number): string {
  return claimIdPrefix(batch, index) + pad(k, 3);
}
export function eventId(batch: number, index: number, k: number): string {
  return eventIdPrefix(batch, index) + pad(k, 3);
}

/** An id of the given system's scheme that belongs to no person (j is any number). */
export function orphanId(system: 'EHR' | 'ADT' | 'LAB', j: number): string {
  const index = MAX_PEOPLE + (j % (ID_SPACE - MAX_PEOPLE));
  return system === 'EHR' ? ehrId(index) : system === 'ADT' ? adtId(index) : labId(index);
}

function indexOf(id: string, prefix: string, perm: Permutation): number | undefined {
  if (id.length !== prefix.length + 8 || !id.startsWith(prefix)) return undefined;
  let v = 0;
  for (let i = prefix.length; i < id.length; i++) {
    const c = id.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return perm.invert(v);
}

/** The person index behind an EHR / ADT / LAB patient id, or undefined if it is not of that scheme. */
export function personIndexOfLocalId(id: string, system: 'EHR' | 'ADT' | 'LAB'): number | undefined {
  return system === 'EHR'
    ? indexOf(id, 'E', EHR)
    : system === 'ADT'
      ? indexOf(id, 'ADT', ADT)
      : indexOf(id, 'LB', LAB);
}

export function personIndexOfPersonId(id: string): number | undefined {
  const m = /^P(\d{7,})$/.exec(id);
  return m ? Number(m[1]) - 1 : undefined;
}
