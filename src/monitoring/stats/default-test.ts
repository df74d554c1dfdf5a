// Evidently-compatible choice of the default drift test per column, and the dataset-level drift verdict.
import { LoopmlError } from "../../errors.ts";
import { chiSquareTest, fisherExactTest, zTest } from "./categorical.ts";
import { hellingerTest, jensenShannonTest, klDivergenceTest, psiTest, wassersteinTest } from "./distance.ts";
import { ksTest } from "./ks.ts";
import { mmdTest } from "./mmd.ts";
import { andersonDarlingTest, cramerVonMisesTest, mannWhitneyTest } from "./rank-tests.ts";
import type { DriftResult, DriftTestName, TestOptions } from "./types.ts";

export type ColumnKind = "numeric" | "categorical" | "binary";

export interface DefaultTestChoice {
  readonly test: DriftTestName;
  readonly threshold: number;
}

/**
 * Evidently's default test. With ≤ 1000 reference rows: numeric with > 5 distinct values → KS (p ≤ 0.05);
 * categorical or numeric with 3–5 values → chi-square (p < 0.05); two values or fewer → z-test (p < 0.05).
 * With more rows: numeric with > 5 values → normalised Wasserstein (≥ 0.1); anything else → Jensen–Shannon
 * (≥ 0.1). `nUnique` counts distinct non-missing values over reference and current together.
 *
 * @example
 * chooseDefaultTest("numeric", 840, 50_000); // { test: "wasserstein", threshold: 0.1 }
 */
export function chooseDefaultTest(
  kind: ColumnKind,
  nUnique: number,
  referenceRows: number,
): DefaultTestChoice {
  const numeric = kind === "numeric" && nUnique > 5;
  if (referenceRows <= 1000) {
    if (numeric) return { test: "ks", threshold: 0.05 };
    return nUnique > 2 && kind !== "binary"
      ? { test: "chisquare", threshold: 0.05 }
      : { test: "z", threshold: 0.05 };
  }
  return numeric ? { test: "wasserstein", threshold: 0.1 } : { test: "jensenshannon", threshold: 0.1 };
}

type Column = Float64Array | Int32Array;

function numericOnly(name: DriftTestName, column: Column): Float64Array {
  if (column instanceof Float64Array) return column;
  throw new LoopmlError(
    "INVALID_ARGUMENT",
    `The ${name} test needs a numeric column (Float64Array), got category codes.`,
  );
}

/** Runs one named drift test on a column pair. */
export function runDriftTest(
  name: DriftTestName,
  reference: Column,
  current: Column,
  options: TestOptions = {},
): DriftResult {
  switch (name) {
    case "ks":
      return ksTest(numericOnly(name, reference), numericOnly(name, current), options);
    case "wasserstein":
      return wassersteinTest(numericOnly(name, reference), numericOnly(name, current), options);
    case "anderson":
      return andersonDarlingTest(numericOnly(name, reference), numericOnly(name, current), options);
    case "cramer_von_mises":
      return cramerVonMisesTest(numericOnly(name, reference), numericOnly(name, current), options);
    case "mannw":
      return mannWhitneyTest(numericOnly(name, reference), numericOnly(name, current), options);
    case "mmd":
      return mmdTest(numericOnly(name, reference), numericOnly(name, current), options);
    case "chisquare":
      return chiSquareTest(reference, current, options);
    case "z":
      return zTest(reference, current, options);
    case "fisher_exact":
      return fisherExactTest(reference, current, options);
    case "jensenshannon":
      return jensenShannonTest(reference, current, options);
    case "psi":
      return psiTest(reference, current, options);
    case "kl_div":
      return klDivergenceTest(reference, current, options);
    case "hellinger":
      return hellingerTest(reference, current, options);
  }
}

/**
 * Non-missing reference rows, and the distinct values over both samples counted up to 6: the default choice
 * only asks whether there are ≤ 2, 3–5 or more, so a million-row column never fills a large set.
 */
function distinctCount(reference: Column, current: Column): { nUnique: number; referenceRows: number } {
  const seen = new Set<number>();
  let referenceRows = 0;
  const missing = (v: number, codes: boolean): boolean => (codes ? v < 0 : !Number.isFinite(v));
  const refCodes = reference instanceof Int32Array;
  for (let i = 0; i < reference.length; i++) {
    const v = reference[i]!;
    if (missing(v, refCodes)) continue;
    referenceRows++;
    if (seen.size <= 5) seen.add(v);
  }
  const curCodes = current instanceof Int32Array;
  for (let i = 0; i < current.length && seen.size <= 5; i++) {
    const v = current[i]!;
    if (!missing(v, curCodes)) seen.add(v);
  }
  return { nUnique: seen.size, referenceRows };
}

/**
 * Drift of one column with Evidently's default test (or `test` when given). Missing values are dropped first;
 * the row count that selects the test is the non-missing reference count. A numeric column with more than
 * 5 distinct values is "numeric" for the choice; `nUnique` is only resolved that far.
 *
 * @example
 * columnDrift("categorical", refCodes, curCodes); // chi-square or z-test up to 1000 rows, else Jensen–Shannon
 */
export function columnDrift(
  kind: ColumnKind,
  reference: Column,
  current: Column,
  options: TestOptions & { readonly test?: DriftTestName } = {},
): DriftResult {
  if (options.test) return runDriftTest(options.test, reference, current, options);
  const { nUnique, referenceRows } = distinctCount(reference, current);
  const choice = chooseDefaultTest(kind, nUnique, referenceRows);
  return runDriftTest(choice.test, reference, current, { threshold: options.threshold ?? choice.threshold });
}

export interface DatasetDrift {
  readonly driftedColumns: number;
  readonly totalColumns: number;
  readonly share: number;
  readonly drifted: boolean;
}

/**
 * Dataset drift as Evidently: drifted when the share of drifted columns is ≥ `shareThreshold` (0.5).
 *
 * @example
 * datasetDrift(columns.map((c) => columnDrift(c.kind, c.reference, c.current))).drifted;
 */
export function datasetDrift(results: readonly DriftResult[], shareThreshold = 0.5): DatasetDrift {
  if (results.length === 0) {
    throw new LoopmlError("INVALID_ARGUMENT", "Dataset drift needs at least one column result.");
  }
  const driftedColumns = results.filter((r) => r.drifted).length;
  const share = driftedColumns / results.length;
  return { driftedColumns, totalColumns: results.length, share, drifted: share >= shareThreshold };
}
