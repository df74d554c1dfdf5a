// Trials side by side on worker threads: each worker holds the problem's data once and runs whole trials,
// one fit thread each, so N workers keep N cores busy without oversubscribing them.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { LoopmlError } from "../errors.ts";
import type { Frame } from "../learn/frame.ts";
import type { Split } from "../learn/split.ts";
import { contextOnBase, type EvalContext, type TrialOutcome } from "./evaluate.ts";
import { runTrialJob, type TrialJob, type TrialRunner } from "./trial.ts";
import type { Problem } from "./types.ts";

interface WorkerInit {
  readonly loopmlAutomlTrials: true;
  readonly problem: Problem;
  readonly base: Frame;
  readonly splits: readonly Split[];
  readonly seed: number;
  /** Set to 1 by the parent on abort; read between splits. */
  readonly abort: Int32Array;
}

type Reply = { id: number; outcome: TrialOutcome } | { id: number; error: string } | { ready: true };

// The worker loads this very module (its source file under tsx or vitest, its chunk in the CLI bundle): a
// TypeScript source needs tsx's loader registered first.
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
(async () => {
  if (workerData.url.endsWith(".ts")) {
    // tsx's ESM API, found from the source file (its package exports name the file).
    const { dirname, join } = require("node:path");
    const { fileURLToPath, pathToFileURL } = require("node:url");
    const pkg = require.resolve("tsx/package.json", { paths: [dirname(fileURLToPath(workerData.url))] });
    const api = require(pkg).exports["./esm/api"].import.default;
    const { register } = await import(pathToFileURL(join(dirname(pkg), api)).href);
    register();
  }
  await import(workerData.url);
})().catch((e) => {
  require("node:worker_threads").parentPort.postMessage({ id: -1, error: String((e && e.stack) || e) });
});
`;

/**
 * Runs jobs on the calling thread and on `threads - 1` workers, one fit thread each. Workers boot in the
 * background (the calling thread takes jobs meanwhile) and a job's outcome does not depend on where it ran,
 * so results never depend on timing. A worker that cannot start is left out; the others carry on.
 *
 * @example
 * const runner = createThreadRunner(ctx, 2, signal);
 * const [a, b] = await Promise.all([runner.run(jobA), runner.run(jobB)]);
 * await runner.close();
 */
export function createThreadRunner(ctx: EvalContext, threads: number, signal?: AbortSignal): TrialRunner {
  const abort = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = (): void => void Atomics.store(abort, 0, 1);
  signal?.addEventListener("abort", onAbort, { once: true });
  const aborted = (): boolean => Atomics.load(abort, 0) === 1;
  const init: WorkerInit = {
    loopmlAutomlTrials: true,
    problem: ctx.problem,
    base: ctx.base,
    splits: ctx.splits,
    seed: ctx.seed,
    abort,
  };
  // Fits on the calling thread use one thread too, so a trial gives the same model wherever it runs.
  const local: EvalContext = { ...ctx, threads: 1 };
  const waiting: Waiting[] = [];
  const running = new Map<number, Waiting>();
  const idle: Worker[] = [];
  const onWorker = new Map<Worker, number>();
  let localBusy = false;
  let nextId = 1;

  const pump = (): void => {
    while (idle.length > 0 && waiting.length > 0) {
      const worker = idle.pop() as Worker;
      const w = waiting.shift() as Waiting;
      running.set(w.id, w);
      onWorker.set(worker, w.id);
      worker.postMessage({ id: w.id, job: w.job });
    }
    if (localBusy || waiting.length === 0) return;
    localBusy = true;
    const w = waiting.shift() as Waiting;
    // Between splits the event loop runs, so finished workers get their next job meanwhile.
    const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    runTrialJob(local, w.job, aborted, tick)
      .then(w.resolve, w.reject)
      .finally(() => {
        localBusy = false;
        pump();
      });
  };

  const workers = Array.from({ length: Math.max(0, threads - 1) }, () => {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { ...init, url: import.meta.url },
      execArgv: [],
    });
    worker.on("message", (msg: Reply) => {
      if ("ready" in msg) {
        idle.push(worker);
        pump();
        return;
      }
      const w = running.get(msg.id);
      if (!w) return; // a boot failure: this worker never became ready, the others carry on
      running.delete(msg.id);
      onWorker.delete(worker);
      idle.push(worker);
      if ("outcome" in msg) w.resolve(msg.outcome);
      else w.reject(new LoopmlError("INTERNAL", `An AutoML trial failed on a worker thread: ${msg.error}`));
      pump();
    });
    worker.on("error", (e) => {
      const id = onWorker.get(worker);
      const w = id === undefined ? undefined : running.get(id);
      if (id !== undefined) running.delete(id);
      w?.reject(new LoopmlError("INTERNAL", `An AutoML trial worker thread crashed: ${e.message}`));
      const i = idle.indexOf(worker);
      if (i >= 0) idle.splice(i, 1);
    });
    return worker;
  });

  return {
    slots: threads,
    run(job) {
      return new Promise<TrialOutcome>((resolve, reject) => {
        waiting.push({ id: nextId++, job, resolve, reject });
        pump();
      });
    },
    async close() {
      signal?.removeEventListener("abort", onAbort);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

interface Waiting {
  readonly id: number;
  readonly job: TrialJob;
  readonly resolve: (outcome: TrialOutcome) => void;
  readonly reject: (error: Error) => void;
}

function serveTrials(init: WorkerInit): void {
  const port = parentPort;
  if (!port) return;
  // One fit thread per worker: the parallelism is across trials.
  const ctx = contextOnBase(init.problem, init.base, init.splits, init.seed, 1);
  port.on("message", (msg: { id: number; job: TrialJob }) => {
    runTrialJob(ctx, msg.job, () => Atomics.load(init.abort, 0) === 1).then(
      (outcome) => port.postMessage({ id: msg.id, outcome }, [outcome.oof.buffer as ArrayBuffer]),
      (e: unknown) => port.postMessage({ id: msg.id, error: String((e as Error)?.stack ?? e) }),
    );
  });
  port.postMessage({ ready: true });
}

if (!isMainThread && (workerData as Partial<WorkerInit> | null)?.loopmlAutomlTrials === true) {
  serveTrials(workerData as WorkerInit);
}
