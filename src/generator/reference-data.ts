import { readFileSync } from 'node:fs';
import { referencePath } from '../reference/paths.ts';
import { parseCsvLine } from './csv.ts';

/** The shipped reference data the generator draws from, loaded once per process (lazily). */
export interface ReferenceData {
  /** Every ICD-10-CM code of the shipped list, dotted (e.g. "E11.9"). */
  readonly icdCodes: readonly string[];
  readonly icdSet: ReadonlySet<string>;
  /** HCPCS Level II codes with their total non-facility RVU (0 when not priced by the PFS). */
  readonly hcpcs: readonly { readonly code: string; readonly rvu: number }[];
  /** State code → Census region, for the 50 states and DC. */
  readonly stateRegion: ReadonlyMap<string, string>;
  /** Lower-case given name → its nicknames (lower case). */
  readonly nicknames: ReadonlyMap<string, readonly string[]>;
}

let cached: ReferenceData | undefined;

function lines(file: Parameters<typeof referencePath>[0]): string[] {
  const text = readFileSync(referencePath(file), 'utf8');
  const rows = text.split(/\r?\n/);
  rows.shift(); // header
  return rows.filter((r) => r.length > 0);
}

/**
 * The first field of every data line (what `lines(file).map((l) => l.slice(0, l.indexOf(',')))`
 * gives, for lines that hold a comma), without a string per line: the ICD-10-CM list has 72,000
 * lines and every worker thread loads it.
 */
function firstFields(file: Parameters<typeof referencePath>[0]): string[] {
  const text = readFileSync(referencePath(file), 'utf8');
  const out: string[] = [];
  let at = text.indexOf('\n') + 1; // after the header
  if (at === 0) return out;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const lineEnd = end > at && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (lineEnd > at) {
      const comma = text.indexOf(',', at);
      if (comma < 0 || comma >= lineEnd) throw new Error(`${file}: line without a comma`);
      out.push(text.slice(at, comma));
    }
    at = end + 1;
  }
  return out;
}

export function referenceData(): ReferenceData {
  if (cached) return cached;
  const icdCodes = firstFields('icd10cm_codes.csv');
  const hcpcs = lines('hcpcs_level2_pfs2024.csv').map((l) => {
    const f = parseCsvLine(l);
    return { code: f[0] as string, rvu: Number(f[4]) || 0 };
  });
  const stateRegion = new Map<string, string>();
  for (const l of lines('us_states_regions.csv')) {
    const f = parseCsvLine(l);
    if (f[3]) stateRegion.set(f[0] as string, f[3]);
  }
  const nicknames = new Map<string, string[]>();
  for (const l of lines('nicknames/names.csv')) {
    const [name, , nick] = parseCsvLine(l);
    if (!name || !nick || !/^[a-z]+$/.test(nick) || nick === name) continue;
    const list = nicknames.get(name);
    if (list) list.push(nick);
    else nicknames.set(name, [nick]);
  }
  cached = { icdCodes, icdSet: new Set(icdCodes), hcpcs, stateRegion, nicknames };
  return cached;
}
