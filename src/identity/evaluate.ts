import type { Database } from '../engine/database.ts';

/**
 * Scores identity resolution against ground truth (record key `SOURCE_SYSTEM:patient_id` → true
 * person): pairwise precision/recall/F1 over all record pairs, B-cubed precision/recall averaged over
 * records, and the calibration of link confidence (share of links that are right per confidence band).
 */
export interface TruthRecord {
  readonly recordKey: string;
  readonly personId: string;
}

export interface CalibrationBand {
  readonly band: string;
  readonly links: number;
  readonly meanConfidence: number;
  readonly shareCorrect: number;
}

export interface IdentityEvaluation {
  readonly records: number;
  readonly recordsWithoutTruth: number;
  readonly truthRecordsUnresolved: number;
  readonly patients: number;
  readonly persons: number;
  readonly pairwise: {
    readonly truePositives: number;
    readonly predictedPairs: number;
    readonly truePairs: number;
    readonly precision: number;
    readonly recall: number;
    readonly f1: number;
  };
  readonly bcubed: { readonly precision: number; readonly recall: number };
  /** Predicted patients holding more than one true person; true persons spread over several patients. */
  readonly falseMergeClusters: number;
  readonly splitPersons: number;
  readonly calibration: CalibrationBand[];
}

const pairs = (n: number): number => (n * (n - 1)) / 2;
const BANDS = [0, 0.5, 0.9, 0.99, 0.999, 1.000001];

export async function evaluateIdentity(
  db: Database,
  truth: AsyncIterable<TruthRecord> | Iterable<TruthRecord>,
): Promise<IdentityEvaluation> {
  const person = new Map<string, string>();
  for await (const t of truth) {
    if (t.recordKey.includes(':')) person.set(t.recordKey, t.personId);
  }
  const rows = await db.all<{ k: string; patient_id: string; c: number; via: string | null }>(
    `SELECT source_system || ':' || source_patient_id AS k, patient_id, confidence_score AS c,
       json_extract_string(match_evidence, '$.matched_record') AS via
     FROM silver_resolved_identity_resolution`,
  );
  const byPatient = new Map<string, number>();
  const byPerson = new Map<string, number>();
  const joint = new Map<string, number>();
  const patientPersons = new Map<string, Set<string>>();
  const personPatients = new Map<string, Set<string>>();
  let without = 0;
  const resolved = new Set<string>();
  const bandLinks = BANDS.slice(0, -1).map(() => ({ n: 0, conf: 0, right: 0 }));
  for (const r of rows) {
    resolved.add(r.k);
    const p = person.get(r.k);
    if (p === undefined) {
      without++;
      continue;
    }
    byPatient.set(r.patient_id, (byPatient.get(r.patient_id) ?? 0) + 1);
    byPerson.set(p, (byPerson.get(p) ?? 0) + 1);
    const j = `${r.patient_id}\u0000${p}`;
    joint.set(j, (joint.get(j) ?? 0) + 1);
    (patientPersons.get(r.patient_id) ?? patientPersons.set(r.patient_id, new Set()).get(r.patient_id))?.add(
      p,
    );
    (personPatients.get(p) ?? personPatients.set(p, new Set()).get(p))?.add(r.patient_id);
    if (r.via) {
      const viaPerson = person.get(r.via);
      const i = BANDS.findIndex((b, x) => r.c >= b && r.c < (BANDS[x + 1] ?? 2));
      const band = bandLinks[i];
      if (band && viaPerson !== undefined) {
        band.n++;
        band.conf += r.c;
        if (viaPerson === p) band.right++;
      }
    }
  }
  let tp = 0;
  let bp = 0;
  let br = 0;
  for (const [j, n] of joint) {
    tp += pairs(n);
    const [pid, per] = j.split('\u0000') as [string, string];
    bp += (n * n) / (byPatient.get(pid) ?? n);
    br += (n * n) / (byPerson.get(per) ?? n);
  }
  let predicted = 0;
  for (const n of byPatient.values()) predicted += pairs(n);
  let truePairs = 0;
  for (const n of byPerson.values()) truePairs += pairs(n);
  const records = rows.length - without;
  const precision = predicted > 0 ? tp / predicted : 1;
  const recall = truePairs > 0 ? tp / truePairs : 1;
  let unresolved = 0;
  for (const k of person.keys()) if (!resolved.has(k)) unresolved++;
  return {
    records,
    recordsWithoutTruth: without,
    truthRecordsUnresolved: unresolved,
    patients: byPatient.size,
    persons: byPerson.size,
    pairwise: {
      truePositives: tp,
      predictedPairs: predicted,
      truePairs,
      precision,
      recall,
      f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    },
    bcubed: { precision: records ? bp / records : 1, recall: records ? br / records : 1 },
    falseMergeClusters: [...patientPersons.values()].filter((s) => s.size > 1).length,
    splitPersons: [...personPatients.values()].filter((s) => s.size > 1).length,
    calibration: bandLinks.map((b, i) => ({
      band: `${BANDS[i]}–${Math.min(1, BANDS[i + 1] ?? 1)}`,
      links: b.n,
      meanConfidence: b.n ? b.conf / b.n : 0,
      shareCorrect: b.n ? b.right / b.n : 0,
    })),
  };
}
