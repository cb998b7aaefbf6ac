/** The synthetic data generator's public API (importable without side effects). */
export { generate, type GenerateSummary, type GeneratedFile } from './generate.ts';
export { GenerateOptionError, type GenerateOptions } from './options.ts';
export { GENERATOR_VERSION } from './version.ts';
export { readGroundTruth, parseTruthLine, TRUTH_HEADER, type GroundTruthRow } from './truth.ts';
export {
  readManifest,
  MANIFEST_FILE,
  type Manifest,
  type ManifestBatch,
  type ManifestFile,
} from './manifest.ts';
export { deleteOldLandingFiles, parseDuration } from './housekeeping.ts';
export {
  parseCron,
  nextCronTime,
  parseSchedule,
  runSchedule,
  systemClock,
  type Clock,
  type Schedule,
} from './schedule.ts';
export { GeneratorValidationError } from './chunk.ts';
export { cleanRowProblem } from './clean-format.ts';
export { parseCsvLine } from './csv.ts';
