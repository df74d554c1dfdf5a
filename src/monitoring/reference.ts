// Reference profiles, precomputed once per reference: exact counts, moments and a bounded quantile sample per column.
import type { Column, Frame } from "../learn/frame.ts";
import { LoopmlError } from "../errors.ts";
import { meanStd } from "./stats/sample.ts";
import { sortedFinite } from "./stats/sort.ts";

/**
 * Numeric columns keep at most this many values: evenly spaced order statistics of the sorted column (a
 * quantile sketch). Up to this many non-missing values the sample IS the column, and every test is exact
 * (equal to `loopml drift` on the raw data, including SciPy's exact KS p-values, which stop at 10,000 values).
 * Above it the sample's empirical CDF is within 1/SAMPLE_SIZE of the column's at every point, so the KS
 * statistic moves by at most 5·10⁻⁵ and the normalised Wasserstein distance by at most range/(std·20,000);
 * p-values are still computed with the true reference count. A window check then costs O(window + 20,000)
 * per column whatever the reference size (a 1M-row reference is 160 KB per column instead of 8 MB).
 */
export const REFERENCE_SAMPLE_SIZE = 20_000;

/** A numeric column with at most this many distinct values keeps exact value counts (chi-square, z, PSI…). */
export const FEW_VALUES = 20;

export interface NumericReference {
  readonly kind: "numeric";
  readonly name: string;
  /** Non-missing (finite) values. */
  readonly count: number;
  readonly missing: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** Population standard deviation (ddof 0), as Evidently's Wasserstein normalisation. */
  readonly std: number;
  /** Distinct finite values, counted up to FEW_VALUES + 1. */
  readonly distinct: number;
  /** Exact value → count when distinct ≤ FEW_VALUES, ascending by value. */
  readonly valueCounts?: { readonly values: Float64Array; readonly counts: Float64Array };
  /** Sorted quantile sample (the whole column up to REFERENCE_SAMPLE_SIZE values). */
  readonly sample: Float64Array;
}

export interface CategoricalReference {
  readonly kind: "categorical";
  readonly name: string;
  readonly count: number;
  readonly missing: number;
  readonly dictionary: readonly string[];
  /** Rows per dictionary entry. */
  readonly counts: Float64Array;
}

export type ColumnReference = NumericReference | CategoricalReference;

export interface ReferenceProfile {
  readonly format: 1;
  /** What it was built from, e.g. "dataset:flights@3". */
  readonly source: string;
  readonly rows: number;
  readonly sampleSize: number;
  readonly columns: readonly ColumnReference[];
}

/**
 * @example
 * const profile = buildReferenceProfile(trainingFrame, "dataset:flights@1");
 * const bytes = encodeReferenceProfile(profile); // store once, check every window against it
 */
export function buildReferenceProfile(
  frame: Frame,
  source: string,
  sampleSize = REFERENCE_SAMPLE_SIZE,
): ReferenceProfile {
  if (!(Number.isInteger(sampleSize) && sampleSize >= 2)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `The reference sample size must be an integer ≥ 2, got ${sampleSize}.`,
    );
  }
  return {
    format: 1,
    source,
    rows: frame.nRows,
    sampleSize,
    columns: frame.columns.map((c) => columnReference(c, sampleSize)),
  };
}

function columnReference(c: Column, sampleSize: number): ColumnReference {
  if (c.kind === "categorical") {
    const counts = new Float64Array(c.dictionary.length);
    let missing = 0;
    for (const code of c.codes) {
      if (code < 0) missing++;
      else counts[code] = (counts[code] ?? 0) + 1;
    }
    return {
      kind: "categorical",
      name: c.name,
      count: c.codes.length - missing,
      missing,
      dictionary: [...c.dictionary],
      counts,
    };
  }
  return numericReference(c.name, c.values, sampleSize);
}

export function numericReference(name: string, values: Float64Array, sampleSize: number): NumericReference {
  const sorted = sortedFinite(values);
  const n = sorted.length;
  const { mean, std } = n > 0 ? meanStd(sorted) : { mean: Number.NaN, std: Number.NaN };
  const few = fewValueCounts(sorted);
  return {
    kind: "numeric",
    name,
    count: n,
    missing: values.length - n,
    min: n > 0 ? sorted[0]! : Number.NaN,
    max: n > 0 ? sorted[n - 1]! : Number.NaN,
    mean,
    std,
    distinct: few ? few.values.length : FEW_VALUES + 1,
    ...(few && { valueCounts: few }),
    sample: quantileSample(sorted, sampleSize),
  };
}

function fewValueCounts(sorted: Float64Array): NumericReference["valueCounts"] | undefined {
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i]!;
    if (values.length > 0 && values[values.length - 1] === v) counts[counts.length - 1]!++;
    else {
      if (values.length === FEW_VALUES) return undefined;
      values.push(v);
      counts.push(1);
    }
  }
  return { values: Float64Array.from(values), counts: Float64Array.from(counts) };
}

/** Order statistics at ranks (i + ½)·n/size: the column itself when it is no longer than `size`. */
function quantileSample(sorted: Float64Array, size: number): Float64Array {
  const n = sorted.length;
  if (n <= size) return sorted;
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = sorted[Math.floor(((i + 0.5) * n) / size)]!;
  return out;
}

/** Profile as bytes for the blob store: JSON with typed arrays as base64 (little-endian float64). */
export function encodeReferenceProfile(p: ReferenceProfile): Buffer {
  return Buffer.from(
    JSON.stringify(p, (_key, value: unknown) =>
      value instanceof Float64Array
        ? { f64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") }
        : value,
    ),
  );
}

export function decodeReferenceProfile(bytes: Uint8Array): ReferenceProfile {
  const parsed = JSON.parse(Buffer.from(bytes).toString("utf8"), (_key, value: unknown) => {
    if (value !== null && typeof value === "object" && "f64" in value && typeof value.f64 === "string") {
      const b = Buffer.from(value.f64, "base64");
      const out = new Float64Array(b.length / 8);
      new Uint8Array(out.buffer).set(b);
      return out;
    }
    return value;
  }) as ReferenceProfile;
  if (parsed.format !== 1) {
    throw new LoopmlError(
      "INTERNAL",
      `Unknown reference profile format ${String(parsed.format)}; this is a bug.`,
    );
  }
  return parsed;
}
