import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sqlString, type Database } from '../engine/database.ts';
import { makeDirectory } from '../support/files.ts';

/**
 * The de-identified export (`carelake export`): the gold tables as Parquet (and CSV on request).
 *
 * - `deidentified`: HIPAA Safe Harbor, 45 CFR 164.514(b)(2): the 18 identifiers removed, ZIP reduced
 *   to its first three digits with the 17 restricted prefixes as 000, every date reduced to its year,
 *   ages of 90 and over as 90, patients under random pseudonyms.
 * - `limited`: a limited data set, 45 CFR 164.514(e): dates, city and five-digit ZIP kept, direct
 *   identifiers removed. Still PHI: only under a data use agreement.
 *
 * Pseudonyms are 80 random bits (crypto.randomBytes), drawn once per resolved patient and kept in
 * `privacy_pseudonyms` inside the database, which is never exported.
 */
export type ExportMode = 'deidentified' | 'limited';

export interface ExportOptions {
  readonly outDir: string;
  readonly mode: ExportMode;
  readonly csv?: boolean;
  readonly version?: string;
}

export interface ExportFile {
  /** Path relative to the export folder. */
  readonly path: string;
  readonly table: string;
  readonly format: 'parquet' | 'csv';
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface IdentifierHandling {
  readonly id: string;
  readonly identifier: string;
  readonly handling: string;
}

export interface ExportManifest {
  readonly format: 'carelake-export/1';
  readonly createdAt: string;
  readonly carelakeVersion: string;
  readonly mode: ExportMode;
  readonly standard: string;
  readonly notice: string;
  readonly tables: Record<string, { rows: number; columns: string[]; partitionBy: string[] }>;
  readonly files: ExportFile[];
  readonly rules: string[];
  readonly identifiers: IdentifierHandling[];
  readonly pseudonymsCreated: number;
}

const PSEUDONYM_BYTES = 10;

/** Draws a pseudonym for every resolved patient that has none yet; returns how many were drawn. */
export async function ensurePseudonyms(db: Database): Promise<number> {
  const missing = await db.all<{ id: string }>(
    `SELECT DISTINCT patient_id AS id FROM (
       SELECT patient_id FROM gold_patients UNION ALL SELECT patient_id FROM gold_claims
       UNION ALL SELECT patient_id FROM gold_medical_events)
     WHERE patient_id IS NOT NULL
       AND patient_id NOT IN (SELECT source_id FROM privacy_pseudonyms WHERE kind = 'patient')`,
  );
  if (missing.length === 0) return 0;
  await db.transaction(async () => {
    for (let i = 0; i < missing.length; i += 2000) {
      const values = missing
        .slice(i, i + 2000)
        .map(
          (m) =>
            `('patient', ${sqlString(m.id)}, 'p${crypto.randomBytes(PSEUDONYM_BYTES).toString('hex')}', now()::TIMESTAMP)`,
        );
      await db.run(`INSERT INTO privacy_pseudonyms VALUES ${values.join(', ')}`);
    }
    const dup = await db.one<{ n: number }>(
      `SELECT COUNT(*) - COUNT(DISTINCT pseudonym) AS n FROM privacy_pseudonyms WHERE kind = 'patient'`,
    );
    if ((dup?.n ?? 0) !== 0) throw new Error('a pseudonym was drawn twice; run the export again');
  });
  return missing.length;
}

interface TableSpec {
  readonly name: string;
  readonly sql: string;
  readonly partitionBy: readonly string[];
}

const PSEUDONYM = (alias: string): string =>
  `JOIN privacy_pseudonyms ps ON ps.kind = 'patient' AND ps.source_id = ${alias}.patient_id`;

/** Where each patient lives, from the most trusted and most recent source record that says. */
const GEO = `SELECT patient_id,
    arg_max(zip5, _priority) FILTER (WHERE zip5 IS NOT NULL) AS zip5,
    arg_max(state_code, _priority) FILTER (WHERE state_code IN (SELECT state_code FROM ref_us_states)) AS state,
    arg_max(city_norm, _priority) FILTER (WHERE city_norm IS NOT NULL) AS city
  FROM silver_patient_sources GROUP BY patient_id`;

const ZIP3 = `CASE WHEN geo.zip5 IS NULL THEN NULL
    WHEN SUBSTR(geo.zip5, 1, 3) IN (SELECT zip3 FROM ref_restricted_zip3) THEN '000'
    ELSE SUBSTR(geo.zip5, 1, 3) END`;

function tables(mode: ExportMode): TableSpec[] {
  const deid = mode === 'deidentified';
  const patients = deid
    ? `SELECT ps.pseudonym AS patient_id, LEAST(g.age_years, 90) AS age_years, g.sex, g.region, geo.state,
         ${ZIP3} AS zip3, g.bmi, g.smoker, g.children, g.charges, g.insurance_plan, g.patient_risk_category,
         CAST(YEAR(g.coverage_start_date) AS INTEGER) AS coverage_start_year,
         CAST(YEAR(g.effective_from) AS INTEGER) AS effective_from_year,
         CAST(YEAR(g.effective_to) AS INTEGER) AS effective_to_year, g.is_current
       FROM gold_patients g ${PSEUDONYM('g')} LEFT JOIN (${GEO}) geo ON geo.patient_id = g.patient_id
       ORDER BY ps.pseudonym, g.effective_from`
    : `SELECT ps.pseudonym AS patient_id, g.age_years, g.sex, g.region, geo.state, geo.city, geo.zip5,
         g.bmi, g.smoker, g.children, g.charges, g.insurance_plan, g.patient_risk_category,
         g.coverage_start_date, g.effective_from, g.effective_to, g.is_current
       FROM gold_patients g ${PSEUDONYM('g')} LEFT JOIN (${GEO}) geo ON geo.patient_id = g.patient_id
       ORDER BY ps.pseudonym, g.effective_from`;
  const claims = deid
    ? `SELECT ps.pseudonym AS patient_id, c.claim_amount, c.diagnosis_code, c.procedure_code, c.claim_status,
         c.claim_category, c.claim_year FROM gold_claims c ${PSEUDONYM('c')} ORDER BY c.claim_year, ps.pseudonym`
    : `SELECT ps.pseudonym AS patient_id, c.claim_amount, c.claim_date, c.diagnosis_code, c.procedure_code,
         c.claim_status, c.claim_category, c.claim_month, c.claim_year
       FROM gold_claims c ${PSEUDONYM('c')} ORDER BY c.claim_date, ps.pseudonym`;
  const events = deid
    ? `SELECT ps.pseudonym AS patient_id, e.event_type, e.medical_provider, e.event_category, e.event_year
       FROM gold_medical_events e ${PSEUDONYM('e')} ORDER BY e.event_year, ps.pseudonym`
    : `SELECT ps.pseudonym AS patient_id, e.event_date, e.event_type, e.medical_provider, e.event_category,
         e.event_month, e.event_year FROM gold_medical_events e ${PSEUDONYM('e')} ORDER BY e.event_date, ps.pseudonym`;
  return [
    { name: 'gold_patients', sql: patients, partitionBy: [] },
    { name: 'gold_claims', sql: claims, partitionBy: deid ? ['claim_year'] : ['claim_year', 'claim_month'] },
    {
      name: 'gold_medical_events',
      sql: events,
      partitionBy: deid ? ['event_year'] : ['event_year', 'event_month'],
    },
  ];
}

function identifiers(mode: ExportMode): IdentifierHandling[] {
  const deid = mode === 'deidentified';
  const none = 'not held by carelake; nothing to export';
  return [
    { id: 'A', identifier: 'Names', handling: 'removed (names never reach gold; not exported)' },
    {
      id: 'B',
      identifier: 'Geographic subdivisions smaller than a state',
      handling: deid
        ? 'street address and city removed; state and Census region kept; ZIP reduced to its first three digits (zip3), the 17 restricted prefixes of data/reference/hipaa_restricted_zip3.csv as 000'
        : 'street address removed; city, state and five-digit ZIP kept (allowed in a limited data set)',
    },
    {
      id: 'C',
      identifier: 'Dates (except year) related to the individual; ages over 89',
      handling: deid
        ? 'every date reduced to its year (coverage_start_year, effective_from_year, effective_to_year, claim_year, event_year); claim_month and event_month removed; no birth date is exported; ages of 90 and over exported as 90 (silver already reports 89 and over as 90)'
        : 'dates and ages kept (allowed in a limited data set); no birth date is exported; ages of 89 and over are 90',
    },
    { id: 'D', identifier: 'Telephone numbers', handling: 'removed' },
    { id: 'E', identifier: 'Fax numbers', handling: none },
    { id: 'F', identifier: 'E-mail addresses', handling: 'removed' },
    {
      id: 'G',
      identifier: 'Social Security numbers',
      handling: 'removed; its keyed hash (ssn_hash) is not exported either',
    },
    { id: 'H', identifier: 'Medical record numbers', handling: 'removed (mrn)' },
    { id: 'I', identifier: 'Health plan beneficiary numbers', handling: 'removed (insurance_id)' },
    { id: 'J', identifier: 'Account numbers', handling: 'removed (claim_id and event_id are not exported)' },
    { id: 'K', identifier: 'Certificate/license numbers', handling: none },
    { id: 'L', identifier: 'Vehicle identifiers and serial numbers', handling: none },
    { id: 'M', identifier: 'Device identifiers and serial numbers', handling: none },
    { id: 'N', identifier: 'Web URLs', handling: none },
    { id: 'O', identifier: 'IP addresses', handling: none },
    { id: 'P', identifier: 'Biometric identifiers', handling: none },
    { id: 'Q', identifier: 'Full-face photographs and comparable images', handling: none },
    {
      id: 'R',
      identifier: 'Any other unique identifying number, characteristic or code',
      handling:
        'source and resolved patient ids replaced by random 80-bit pseudonyms (not derived from any identifier); the mapping stays in the database table privacy_pseudonyms and is never exported',
    },
  ];
}

function rules(mode: ExportMode): string[] {
  return mode === 'deidentified'
    ? [
        'HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i): the 18 identifiers removed (see identifiers)',
        'zip3 = first three ZIP digits; 000 for the 17 restricted prefixes (2000 Census, HHS guidance)',
        'every date reduced to its year; months removed',
        'age_years capped at 90 (90 means 90 or older)',
        'patient_id = random pseudonym, consistent across tables and exports of this database',
        'facts partitioned by year only (a month is a date element Safe Harbor removes)',
        'medical_provider kept: it names a facility or clinician, not the individual or a relative, employer or household member',
      ]
    : [
        'HIPAA limited data set, 45 CFR 164.514(e): direct identifiers removed; dates, city, state and five-digit ZIP kept',
        'STILL PHI: disclose only for research, public health or health care operations under a data use agreement',
        'patient_id = random pseudonym, consistent across tables and exports of this database',
        'facts partitioned by year and month (D8)',
      ];
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

/** Writes the export and its manifest.json; refuses a non-empty output folder. */
export async function exportGold(db: Database, o: ExportOptions): Promise<ExportManifest> {
  const out = path.resolve(o.outDir);
  const existing = fs.statSync(out, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory())
    throw new Error(`${out} is a file, not a folder; choose a new folder for the export`);
  if (existing && fs.readdirSync(out).length > 0)
    throw new Error(`the export folder ${out} is not empty; choose a new folder`);
  makeDirectory(out, 0o700);
  const created = await ensurePseudonyms(db);
  const specs = tables(o.mode);
  const files: ExportFile[] = [];
  const summary: ExportManifest['tables'] = {};
  for (const t of specs) {
    const total = (await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM (${t.sql})`))?.n ?? 0;
    const columns = (await db.all<{ column_name: string }>(`DESCRIBE (${t.sql})`)).map((r) => r.column_name);
    summary[t.name] = { rows: total, columns, partitionBy: [...t.partitionBy] };
    const target = t.partitionBy.length ? path.join(out, t.name) : path.join(out, `${t.name}.parquet`);
    if (total > 0 || !t.partitionBy.length) {
      const partition = t.partitionBy.length ? `, PARTITION_BY (${t.partitionBy.join(', ')})` : '';
      await db.run(`COPY (${t.sql}) TO ${sqlString(target)} (FORMAT parquet${partition})`);
    }
    if (o.csv) {
      makeDirectory(path.join(out, 'csv'));
      await db.run(
        `COPY (${t.sql}) TO ${sqlString(path.join(out, 'csv', `${t.name}.csv`))} (FORMAT csv, HEADER true)`,
      );
    }
  }
  for (const file of listFiles(out)) {
    const rel = path.relative(out, file).split(path.sep).join('/');
    const format = file.endsWith('.csv') ? 'csv' : 'parquet';
    const table =
      specs.find(
        (t) => rel.startsWith(`${t.name}/`) || rel.startsWith(`${t.name}.`) || rel === `csv/${t.name}.csv`,
      )?.name ?? '';
    const reader =
      format === 'csv'
        ? `read_csv(${sqlString(file)}, header = true, all_varchar = true)`
        : `read_parquet(${sqlString(file)})`;
    const rows = (await db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${reader}`))?.n ?? 0;
    const bytes = fs.readFileSync(file);
    files.push({
      path: rel,
      table,
      format,
      rows,
      bytes: bytes.length,
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    });
  }
  const manifest: ExportManifest = {
    format: 'carelake-export/1',
    createdAt: new Date().toISOString(),
    carelakeVersion: o.version ?? '0.1.0',
    mode: o.mode,
    standard:
      o.mode === 'deidentified'
        ? 'HIPAA Safe Harbor de-identification, 45 CFR 164.514(b)(2)'
        : 'HIPAA limited data set, 45 CFR 164.514(e)',
    notice:
      o.mode === 'deidentified'
        ? 'De-identified under Safe Harbor. The recipient must have no actual knowledge that the remaining information could identify an individual (164.514(b)(2)(ii)).'
        : 'LIMITED DATA SET: this is still PHI. It keeps dates, city, state and five-digit ZIP codes. Disclose only under a data use agreement (45 CFR 164.514(e)(4)).',
    tables: summary,
    files,
    rules: rules(o.mode),
    identifiers: identifiers(o.mode),
    pseudonymsCreated: created,
  };
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
