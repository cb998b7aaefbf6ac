/**
 * Clinical code tables for claims. The common ICD-10-CM codes carry most of the diagnosis mass
 * (weights ~ relative frequency in US ambulatory care); every one is in the shipped code list
 * (a test checks it). Procedure codes: bare E/M code numbers (no CPT descriptors are shipped, see
 * notes §3b; CPT® is a registered trademark of the AMA) with national 2024 Medicare non-facility
 * payments, plus HCPCS Level II codes from the shipped list priced by their RVU.
 */
// prettier-ignore
export const COMMON_ICD10: readonly (readonly [string, number])[] = [
  ['I10', 60], ['E11.9', 30], ['E78.5', 28], ['Z00.00', 24], ['J06.9', 22], ['Z00.01', 14], ['E66.9', 10],
  ['F41.1', 10], ['F32.9', 10], ['J45.909', 8], ['K21.9', 10], ['N39.0', 8], ['R10.9', 7], ['R51.9', 6],
  ['J02.9', 8], ['J20.9', 7], ['I25.10', 8], ['E03.9', 9], ['M17.11', 4], ['M25.561', 4], ['Z23', 12],
  ['J30.9', 5], ['G47.33', 6], ['N18.30', 4], ['E55.9', 7], ['D64.9', 4], ['R53.83', 5], ['M79.7', 3],
  ['J44.9', 6], ['I48.91', 5], ['Z79.4', 4], ['E11.65', 6], ['G43.909', 4], ['L03.90', 3], ['B34.9', 4],
  ['R07.9', 4], ['H10.9', 3], ['M54.9', 5], ['F17.210', 5], ['Z12.31', 7], ['K59.00', 3], ['R42', 3],
  ['I50.9', 4], ['M54.16', 3], ['E78.2', 4], ['E11.22', 3], ['R73.03', 5], ['Z79.899', 6], ['M19.90', 4],
  ['J18.9', 4], ['U07.1', 3], ['M54.2', 5],
];

/** Share of diagnoses drawn from COMMON_ICD10; the rest are uniform over the whole list. */
export const COMMON_ICD10_SHARE = 0.8;

/** E/M code numbers with a 2024 national non-facility payment (USD) and a relative frequency. */
// prettier-ignore
export const EM_CODES: readonly (readonly [string, number, number])[] = [
  ['99202', 72.23, 3], ['99203', 111.51, 6], ['99204', 167.1, 4], ['99205', 220.36, 1],
  ['99211', 23.3, 3], ['99212', 56.59, 8], ['99213', 90.87, 30], ['99214', 128.16, 24], ['99215', 180.42, 5],
  ['99221', 81.89, 1], ['99222', 129.16, 1.5], ['99223', 171.1, 1.5], ['99231', 48.93, 1], ['99232', 77.89, 2],
  ['99233', 117.17, 1], ['99281', 11.32, 0.5], ['99282', 41.28, 1], ['99283', 70.24, 2.5], ['99284', 119.5, 3],
  ['99285', 173.1, 2.5],
];

/** Share of procedure codes that are E/M visits (the rest are HCPCS Level II). */
export const EM_SHARE = 0.72;

/** Billed charges are a multiple of the Medicare payment (commercial rates run higher). */
export const BILLED_MULTIPLIER = 2.1;

/** Medicare conversion factor 2024 (CMS PFS April release). */
export const CONVERSION_FACTOR_2024 = 33.2875;

/** Claim statuses and their shares. */
export const STATUS_SHARES: readonly (readonly [string, number])[] = [
  ['paid', 62],
  ['approved', 12],
  ['denied', 18],
  ['submitted', 8],
];

export const INSURANCE_PLANS: readonly (readonly [string, number])[] = [
  ['PPO', 40],
  ['HMO', 30],
  ['HDHP', 12],
  ['EPO', 10],
  ['POS', 8],
];
