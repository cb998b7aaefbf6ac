/** Facility and laboratory names for medical events (fictional, generic). */
// prettier-ignore
export const HOSPITAL_PREFIXES = [
  'St. Mary', 'Mercy', 'Good Samaritan', 'Memorial', 'Providence', 'Sacred Heart', 'Baptist', 'Methodist',
  'Presbyterian', 'St. Luke', 'St. Joseph', 'Riverside', 'Lakeview', 'Valley', 'Community', 'University',
  'Regional', 'County General', 'Holy Cross', 'Children\'s',
] as const;

export const HOSPITAL_SUFFIXES = [
  'Hospital',
  'Medical Center',
  'Health System',
  'Regional Medical Center',
] as const;

// prettier-ignore
export const LAB_NAMES = [
  'Quest Diagnostics', 'Labcorp', 'BioReference Laboratories', 'Sonic Healthcare USA', 'ARUP Laboratories',
  'Mayo Clinic Laboratories', 'Hospital Core Laboratory', 'Outpatient Lab Services',
] as const;
