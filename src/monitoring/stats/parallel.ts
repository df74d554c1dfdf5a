// Numeric drift over many columns on every core: the calling thread and worker threads each take a share of columns.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { LoopmlError } from "../../errors.ts";
import { ksFromStatistic } from "./ks.ts";
import { numericDriftKernel, OUT, OUT_SLOTS } from "./numeric-kernel.ts";

export interface NumericColumnDrift {
  /** Non-missing values on each side. */
  readonly referenceCount: number;
  readonly currentCount: number;
  /** null when a side has no value: not enough data. */
  readonly ks: { readonly statistic: number; readonly pValue: number } | null;
  /** Wasserstein distance divided by the reference std (floored at 0.001), as Evidently. */
  readonly wasserstein: number | null;
  readonly psi: number | null;
}

export interface ParallelOptions {
  /** Threads including the calling one (default: the machine's cores, at most 8). */
  readonly threads?: number;
}

// Each message is a list of column pairs; the worker answers with one output row per pair.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
// Some TypeScript loaders (tsx, esbuild with keepNames) wrap inner functions in __name(fn, "name").
const __name = (f) => f;
const numericDriftKernel = ${numericDriftKernel.toString()};
parentPort.on("message", ({ id, pairs }) => {
  try {
    const out = new Float64Array(pairs.length * ${OUT_SLOTS});
    pairs.forEach(([r, c], k) => numericDriftKernel(r, c, out.subarray(k * ${OUT_SLOTS}, (k + 1) * ${OUT_SLOTS})));
    parentPort.postMessage({ id, out }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.stack || e) });
  }
});
`;

interface Pending {
  resolve(out: Float64Array): void;
  reject(e: Error): void;
}

let workers: { worker: Worker; pending: Map<number, Pending> }[] = [];
let nextId = 0;

function pool(size: number): typeof workers {
  while (workers.length < size) {
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    const pending = new Map<number, Pending>();
    worker.on("message", (m: { id: number; out?: Float64Array; error?: string }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (pending.size === 0) worker.unref();
      if (m.out) p?.resolve(m.out);
      else
        p?.reject(
          new LoopmlError("INTERNAL", `A drift worker failed (this is a bug in loopml): ${m.error ?? ""}`),
        );
    });
    worker.on("error", (e) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    });
    worker.unref();
    workers.push({ worker, pending });
  }
  return workers.slice(0, size);
}

/** Stops the worker threads (they are unref'd, so a process exits without this; tests and benchmarks call it). */
export async function closeDriftWorkers(): Promise<void> {
  const all = workers;
  workers = [];
  await Promise.all(all.map((w) => w.worker.terminate()));
}

/**
 * KS (SciPy's ks_2samp p-value), normalised Wasserstein and PSI for many numeric columns, with one sort per side
 * per column shared by the three. Columns are dealt out to `threads` threads (the calling thread included);
 * inputs are copied to the workers, so a caller keeps its arrays. Results equal the single-column functions.
 *
 * @example
 * const [age] = await numericDriftColumns([{ reference: refAge, current: curAge }]);
 * age.ks?.pValue; age.wasserstein; age.psi;
 */
export async function numericDriftColumns(
  columns: readonly { readonly reference: Float64Array; readonly current: Float64Array }[],
  options: ParallelOptions = {},
): Promise<NumericColumnDrift[]> {
  const threads = Math.max(
    1,
    Math.min(options.threads ?? Math.min(8, availableParallelism()), columns.length),
  );
  const groups: number[][] = Array.from({ length: threads }, () => []);
  // Round-robin keeps the shares balanced when columns are of equal size, the common case.
  columns.forEach((_, k) => groups[k % threads]!.push(k));
  const outputs: Float64Array[] = new Array<Float64Array>(columns.length);
  const helpers = pool(threads - 1);
  const waits = helpers.map(({ worker, pending }, w) => {
    const ids = groups[w + 1]!;
    const id = nextId++;
    worker.ref();
    const done = new Promise<Float64Array>((resolve, reject) => pending.set(id, { resolve, reject }));
    worker.postMessage({ id, pairs: ids.map((k) => [columns[k]!.reference, columns[k]!.current]) });
    return done.then((out) =>
      ids.forEach((k, i) => (outputs[k] = out.subarray(i * OUT_SLOTS, (i + 1) * OUT_SLOTS))),
    );
  });
  for (const k of groups[0]!) {
    const out = new Float64Array(OUT_SLOTS);
    numericDriftKernel(columns[k]!.reference, columns[k]!.current, out);
    outputs[k] = out;
  }
  await Promise.all(waits);
  return outputs.map(resultOf);
}

function resultOf(o: Float64Array): NumericColumnDrift {
  const n1 = o[OUT.n1]!;
  const n2 = o[OUT.n2]!;
  if (n1 === 0 || n2 === 0) {
    return { referenceCount: n1, currentCount: n2, ks: null, wasserstein: null, psi: null };
  }
  const ks = ksFromStatistic(Math.max(o[OUT.dPlus]!, o[OUT.dMinus]!), n1, n2);
  return {
    referenceCount: n1,
    currentCount: n2,
    ks: { statistic: ks.statistic, pValue: ks.pValue },
    wasserstein: o[OUT.wasserstein]! / Math.max(o[OUT.refStd]!, 0.001),
    psi: o[OUT.psi]!,
  };
}
