/**
 * The default parameters of model `fs-v1` (version `fs-v1.0`), used while a lakehouse holds too few
 * records to train its own (EM needs a few thousand candidate pairs). They are the parameters trained
 * on generated data of 20,000 people (seed 1), rounded: per comparison, [m, u] for levels 1…n in the
 * order of COMPARISONS. The prior follows the record count (about 1.2 true pairs per record).
 */
export const DEFAULT_MODEL_VERSION_SUFFIX = '0';

export const DEFAULT_PARAMETERS: Readonly<Record<string, readonly (readonly [number, number])[]>> = {
  first_name: [
    [0.737, 0.0066],
    [0.179, 0.00486],
    [0.0515, 0.00169],
    [0.0162, 0.00642],
    [0.016, 0.98],
  ],
  last_name: [
    [0.928, 0.0131],
    [0.0575, 0.00117],
    [0.013, 0.00201],
    [0.00137, 0.984],
  ],
  birth_date: [
    [0.982, 0.0000696],
    [0.0173, 0.0000116],
    [0.001, 0.00146],
    [0.001, 0.0368],
    [0.001, 0.962],
  ],
  ssn: [
    [0.999, 0.0000377],
    [0.001, 1],
  ],
  mrn: [
    [0.999, 0.0000263],
    [0.001, 1],
  ],
  member_id: [
    [0.999, 0.0000189],
    [0.001, 1],
  ],
  address: [
    [0.86, 0.0000116],
    [0.001, 0.0000116],
    [0.00129, 0.00687],
    [0.138, 0.993],
  ],
  phone: [
    [0.935, 0.0000253],
    [0.0647, 1],
  ],
  email: [
    [0.999, 0.000024],
    [0.001, 1],
  ],
  sex: [
    [0.999, 0.502],
    [0.001, 0.498],
  ],
};

/** True record pairs per record assumed by the default prior. */
export const DEFAULT_MATCHES_PER_RECORD = 1.2;

/** Fewer records than this: the default parameters instead of training. */
export const MIN_TRAINING_RECORDS = 5000;

/** The smallest m of any level after EM (no single disagreement may act as a veto). */
export const M_FLOOR = 0.001;
