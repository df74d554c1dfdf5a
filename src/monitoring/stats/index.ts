// Drift statistics: pure functions on typed arrays, checked against SciPy and Evidently.
export type { CategoricalColumn, DriftResult, DriftTestName, NumericColumn, TestOptions } from "./types.ts";
export { ksTest, ksSorted, ksStatisticSorted, ksFromStatistic } from "./ks.ts";
export { sweepSorted } from "./sweep.ts";
export type { SweepResult } from "./sweep.ts";
export type { KsOutcome } from "./ks.ts";
export { chiSquareTest, chiSquareFromCounts, zTest, fisherExact2x2, fisherExactTest } from "./categorical.ts";
export {
  wassersteinTest,
  wassersteinSorted,
  wassersteinNormSorted,
  jensenShannonTest,
  jensenShannonDistance,
  psiTest,
  populationStabilityIndex,
  klDivergenceTest,
  klDivergence,
  hellingerTest,
  binnedSharesSorted,
  sturgesEdgesSorted,
  histogramSorted,
} from "./distance.ts";
export type { BinnedShares } from "./distance.ts";
export { mannWhitneyTest, cramerVonMisesTest, andersonDarlingTest } from "./rank-tests.ts";
export { mmdTest } from "./mmd.ts";
export type { MmdOptions } from "./mmd.ts";
export { chooseDefaultTest, columnDrift, runDriftTest, datasetDrift } from "./default-test.ts";
export type { ColumnKind, DefaultTestChoice, DatasetDrift } from "./default-test.ts";
export { cleanSorted, categoryCounts } from "./sample.ts";
export { sortedFinite } from "./sort.ts";
export { bellSample, createLcg } from "./rng.ts";
