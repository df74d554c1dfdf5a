// Deterministic synthetic data sets for the GBDT benchmark, written column-major as float64 files.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createRng, type Rng } from "../../src/learn/random.ts";

export type Task = "binary" | "regression";

export interface TaskShape {
  readonly nFeatures: number;
  readonly nTrain: number;
  readonly nTest: number;
}

export const SHAPES: Readonly<Record<Task, TaskShape>> = {
  binary: { nFeatures: 28, nTrain: 1_000_000, nTest: 200_000 },
  regression: { nFeatures: 20, nTrain: 500_000, nTest: 100_000 },
};

function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * Binary: 28 features (gaussian, uniform, products, a quantised one with many ties, two with 10% missing);
 * the label is drawn from a logistic model with interactions and steps, so the best AUC is well below 1.
 */
export function binaryRows(n: number, rng: Rng): { x: Float64Array; y: Float64Array } {
  const p = 28;
  const x = new Float64Array(p * n);
  const y = new Float64Array(n);
  const row = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 16; j++) row[j] = gaussian(rng);
    for (let j = 22; j < 28; j++) row[j] = rng.next();
    const r = (j: number): number => row[j] as number;
    row[16] = r(0) * r(1) + 0.5 * gaussian(rng);
    row[17] = Math.abs(r(2)) + 0.3 * gaussian(rng);
    row[18] = r(3) - r(4) + 0.2 * gaussian(rng);
    row[19] = Math.exp(0.5 * r(5)) + 0.1 * gaussian(rng);
    row[20] = Math.round(r(6) * 2) / 2;
    row[21] = r(7) * r(22);
    const logit =
      0.8 * r(0) -
      0.6 * r(1) +
      0.5 * r(2) * r(3) +
      Math.sin(2 * r(4)) +
      (r(5) > 0.5 ? 0.7 : 0) -
      0.4 * r(6) * r(6) +
      0.3 * r(7) +
      0.5 * Math.tanh(r(8) * r(9)) +
      (r(10) > 0 ? 0.4 : -0.2) +
      0.6 * (r(22) - 0.5) * (r(11) > 0 ? 1 : -1) -
      0.2;
    y[i] = rng.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    // Missing values after the label is drawn: the model must learn where missing rows go.
    if (rng.next() < 0.1) row[10] = NaN;
    if (rng.next() < 0.1) row[12] = NaN;
    for (let j = 0; j < p; j++) x[j * n + i] = row[j] as number;
  }
  return { x, y };
}

/** Regression: 20 features, a smooth non-linear signal with interactions and a step, gaussian noise. */
export function regressionRows(n: number, rng: Rng): { x: Float64Array; y: Float64Array } {
  const p = 20;
  const x = new Float64Array(p * n);
  const y = new Float64Array(n);
  const row = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 14; j++) row[j] = gaussian(rng);
    for (let j = 14; j < 20; j++) row[j] = rng.next() * 4 - 2;
    const r = (j: number): number => row[j] as number;
    y[i] =
      3 * Math.sin(r(0)) +
      r(1) * r(1) +
      2 * r(2) * r(3) +
      (r(4) > 0 ? 2 : 0) +
      0.5 * r(5) +
      Math.abs(r(14)) * r(6) +
      0.8 * Math.cos(r(15) * 2) +
      gaussian(rng);
    if (rng.next() < 0.05) row[7] = NaN;
    for (let j = 0; j < p; j++) x[j * n + i] = row[j] as number;
  }
  return { x, y };
}

/** Writes <task>-{train,test}-{x,y}.f64 and <task>-meta.json into dir. */
export function writeTask(dir: string, task: Task): void {
  const shape = SHAPES[task];
  const rng = createRng(task === "binary" ? 2026 : 2027);
  const make = task === "binary" ? binaryRows : regressionRows;
  const train = make(shape.nTrain, rng);
  const test = make(shape.nTest, rng);
  const write = (name: string, a: Float64Array): void =>
    writeFileSync(join(dir, `${task}-${name}.f64`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  write("train-x", train.x);
  write("train-y", train.y);
  write("test-x", test.x);
  write("test-y", test.y);
  writeFileSync(join(dir, `${task}-meta.json`), JSON.stringify(shape));
}
