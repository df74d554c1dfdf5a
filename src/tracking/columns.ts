// Metric points in columns: built point by point by the batching client, checked once, written by the store's fast path.
import { LoopmlError } from "../errors.ts";
import type { MetricInput, MetricPointColumns } from "./types.ts";
import { checkKey } from "./validate.ts";

/**
 * Appends points into typed arrays that double when full; `take()` hands the filled part over and
 * starts afresh, so a batch in flight is never written to again.
 *
 * @example
 * const b = new MetricColumnsBuilder();
 * b.push("loss", 0.3, 1, Date.now());
 * const points = b.take();
 */
export class MetricColumnsBuilder {
  #keys: string[] = [];
  #index = new Map<string, number>();
  #key: Uint32Array;
  #value: Float64Array;
  #step: Float64Array;
  #timestamp: Float64Array;
  #n = 0;

  constructor(private readonly capacity = 1024) {
    this.#key = new Uint32Array(capacity);
    this.#value = new Float64Array(capacity);
    this.#step = new Float64Array(capacity);
    this.#timestamp = new Float64Array(capacity);
  }

  get length(): number {
    return this.#n;
  }

  push(key: string, value: number, step: number, timestamp: number): void {
    let k = this.#index.get(key);
    if (k === undefined) {
      k = this.#keys.push(key) - 1;
      this.#index.set(key, k);
    }
    if (this.#n === this.#key.length) this.#grow();
    const i = this.#n++;
    this.#key[i] = k;
    this.#value[i] = value;
    this.#step[i] = step;
    this.#timestamp[i] = timestamp;
  }

  take(): MetricPointColumns {
    const n = this.#n;
    const out = {
      keys: this.#keys,
      key: this.#key.subarray(0, n),
      value: this.#value.subarray(0, n),
      step: this.#step.subarray(0, n),
      timestamp: this.#timestamp.subarray(0, n),
    };
    this.#keys = [];
    this.#index = new Map();
    this.#key = new Uint32Array(this.capacity);
    this.#value = new Float64Array(this.capacity);
    this.#step = new Float64Array(this.capacity);
    this.#timestamp = new Float64Array(this.capacity);
    this.#n = 0;
    return out;
  }

  #grow(): void {
    const size = Math.max(16, this.#key.length * 2);
    const grow = <T extends Uint32Array | Float64Array>(a: T, b: T): T => (b.set(a), b);
    this.#key = grow(this.#key, new Uint32Array(size));
    this.#value = grow(this.#value, new Float64Array(size));
    this.#step = grow(this.#step, new Float64Array(size));
    this.#timestamp = grow(this.#timestamp, new Float64Array(size));
  }
}

/** Points given as objects (the library's and MLflow's form), with step 0 and timestamp `now` when absent. */
export function columnsFromPoints(metrics: readonly MetricInput[], now: number): MetricPointColumns {
  const b = new MetricColumnsBuilder(metrics.length);
  for (const m of metrics) b.push(m.key, m.value, m.step ?? 0, m.timestamp ?? now);
  return b.take();
}

/** Both forms of one batch as one set of columns. */
export function concatColumns(a: MetricPointColumns, b: MetricPointColumns): MetricPointColumns {
  if (b.key.length === 0) return a;
  if (a.key.length === 0) return b;
  const out = new MetricColumnsBuilder(a.key.length + b.key.length);
  for (const c of [a, b]) {
    for (let i = 0; i < c.key.length; i++) {
      out.push(
        c.keys[c.key[i] as number] as string,
        c.value[i] as number,
        c.step[i] as number,
        c.timestamp[i] as number,
      );
    }
  }
  return out.take();
}

/**
 * Keys are checked once each (a batch repeats a handful of keys thousands of times); every point's
 * key index, step (a whole number) and timestamp (finite) in one pass. Values may be anything a
 * Float64Array holds, NaN and ±Infinity included.
 */
export function checkColumns(p: MetricPointColumns): void {
  const { keys, key, step, timestamp } = p;
  const n = key.length;
  if (p.value.length !== n || step.length !== n || timestamp.length !== n) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      "Metric columns key, value, step and timestamp differ in length.",
    );
  }
  for (const k of keys) checkKey("Metric", k);
  for (let i = 0; i < n; i++) {
    const k = key[i] as number;
    if (k >= keys.length) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Metric point ${i} names key ${k}, but only ${keys.length} keys are given.`,
      );
    }
    const s = step[i] as number;
    if (!Number.isSafeInteger(s)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Metric "${keys[k]}" has step ${s}; steps are whole numbers.`,
      );
    }
    if (!Number.isFinite(timestamp[i])) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Metric "${keys[k]}" has timestamp ${timestamp[i]}; use milliseconds since the epoch.`,
      );
    }
  }
}
