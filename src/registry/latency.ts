// The latency-budget gate rule: load the candidate with the serving runtime and time a batch prediction.
import { isEnvelope } from "../learn/serialize/envelope.ts";
import { loadRuntime } from "../serving/runtimes/load.ts";
import type { Batch, ModelRuntime } from "../serving/types.ts";
import type { BlobStore } from "../store/types.ts";
import type { LatencyBudget, ModelVersion, RuleResult } from "./types.ts";

/** Timed repetitions after one warm-up; the median is compared with the budget. */
const REPEATS = 5;

export function describeLatencyRule(b: LatencyBudget): string {
  return `predicting ${b.batchRows} rows takes ≤ ${b.maxMs} ms`;
}

/**
 * A deterministic batch shaped by the signature: numbers spread over [-1, 2) (so trees take
 * different branches), strings from a small set, every cell present.
 */
export function syntheticBatch(runtime: ModelRuntime, rows: number): Batch {
  const inputs = runtime.signature.inputs;
  const values = new Float64Array(rows * inputs.length);
  let s = 0x9e3779b9;
  const next = (): number => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 4294967296;
  };
  for (let i = 0; i < values.length; i++) values[i] = next() * 3 - 1;
  const strings = inputs.map((c) => {
    if (c.type !== "string") return null;
    return Array.from({ length: rows }, (_, r) => `v${r % 7}`);
  });
  inputs.forEach((c, j) => {
    if (c.type === "string") for (let r = 0; r < rows; r++) values[r * inputs.length + j] = Number.NaN;
  });
  return { nRows: rows, values, strings };
}

async function loadCandidate(blobs: BlobStore, v: ModelVersion): Promise<ModelRuntime> {
  if (v.blobId === null) throw new Error(`v${v.version} has no stored artifact to load`);
  if (v.flavor === "onnx") throw new Error(`v${v.version} is ONNX, which this loopml cannot load`);
  const bytes = await blobs.getBytes(v.blobId);
  const source = `Model "${v.model}" version ${v.version}`;
  // A loopml GBDT may be stored in its binary envelope; everything else is a JSON document.
  return loadRuntime(isEnvelope(bytes) ? bytes : (JSON.parse(bytes.toString("utf8")) as unknown), source);
}

/**
 * Loads the candidate as serving would and times `budget.batchRows` rows: one warm-up, then the
 * median of five runs. A version that cannot be loaded fails the rule (it could not be served).
 */
export async function checkLatency(
  blobs: BlobStore,
  candidate: ModelVersion,
  budget: LatencyBudget,
  now: () => number = () => performance.now(),
): Promise<RuleResult> {
  const rule = describeLatencyRule(budget);
  let runtime: ModelRuntime;
  try {
    runtime = await loadCandidate(blobs, candidate);
  } catch (e) {
    return { rule, passed: false, detail: `cannot load v${candidate.version}: ${(e as Error).message}` };
  }
  const batch = syntheticBatch(runtime, budget.batchRows);
  runtime.predict(batch);
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = now();
    runtime.predict(batch);
    times.push(now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(REPEATS / 2)] as number;
  return {
    rule,
    passed: median <= budget.maxMs,
    detail: `v${candidate.version} (${runtime.kind}) predicted ${budget.batchRows} rows in ${median.toFixed(2)} ms (median of ${REPEATS}; budget ${budget.maxMs} ms)`,
  };
}
