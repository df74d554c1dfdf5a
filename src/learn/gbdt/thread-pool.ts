// Worker threads for the hot loops: jobs share memory (SharedArrayBuffer) and run synchronously via Atomics.
import { availableParallelism } from "node:os";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { LoopmlError } from "../../errors.ts";
import {
  binKernel,
  forestKernel,
  gradientKernel,
  histogramKernel,
  leafUpdateKernel,
  partitionKernel,
  predictKernel,
} from "./kernels.ts";

/** The functions workers can run, by job kind; each is self-contained (shipped to workers as source text). */
const KERNELS = {
  histogram: histogramKernel,
  predict: predictKernel,
  partition: partitionKernel,
  bin: binKernel,
  forest: forestKernel,
  leafUpdate: leafUpdateKernel,
  gradient: gradientKernel,
} as const;

type Kernels = typeof KERNELS;
export type Job = {
  readonly [K in keyof Kernels]: {
    readonly kind: K;
    readonly args: Parameters<Kernels[K]>;
  };
}[keyof Kernels];

const IDLE = 0;
const PENDING = 1;
const EXIT = 2;
const FAILED = 3;

// Workers wait on their control slot, take the job from their port, run the kernel and flip the slot back.
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const kernels = {
${Object.entries(KERNELS)
  .map(([kind, fn]) => `  ${kind}: ${fn.toString()},`)
  .join("\n")}
};
const { control, slot, port } = workerData;
for (;;) {
  Atomics.wait(control, slot, ${IDLE});
  if (Atomics.load(control, slot) === ${EXIT}) break;
  let message = receiveMessageOnPort(port);
  while (!message) {
    Atomics.wait(control, slot, ${PENDING}, 1);
    message = receiveMessageOnPort(port);
  }
  let state = ${IDLE};
  try {
    const job = message.message;
    kernels[job.kind](...job.args);
  } catch (e) {
    state = ${FAILED};
  }
  Atomics.store(control, slot, state);
  Atomics.notify(control, slot);
}
`;

/** A fixed set of helper threads; the calling thread always runs the first job itself. */
export interface ThreadPool {
  /** Threads that work on a batch, the calling thread included. */
  readonly size: number;
  /** Runs jobs[0] on the calling thread and the others on workers; returns when all are done. */
  runAll(jobs: readonly Job[]): void;
}

let shared: { pool: ThreadPool; size: number } | null = null;
let jobsOnWorkers = 0;

/** How many jobs worker threads have run in this process (lets tests check that threads were used). */
export function workerJobCount(): number {
  return jobsOnWorkers;
}

/** Thread count used when the caller does not choose one: the machine's cores, at most 8. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * The process-wide pool with `threads` threads (created on first use, grown when asked for more). Its
 * workers are unref'd: they never keep the process alive.
 */
export function getThreadPool(threads: number): ThreadPool {
  if (!shared || shared.size < threads) shared = { pool: createThreadPool(threads), size: threads };
  const pool = shared.pool;
  return threads === pool.size ? pool : { size: threads, runAll: (jobs) => pool.runAll(jobs) };
}

function createThreadPool(threads: number): ThreadPool {
  const nWorkers = Math.max(0, threads - 1);
  const control = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, nWorkers)));
  const ports: MessagePort[] = [];
  for (let slot = 0; slot < nWorkers; slot++) {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // The worker source is plain JavaScript: inheriting the parent's loaders (tsx, test runners) only slows its start.
      execArgv: [],
      workerData: { control, slot, port: port2 },
      transferList: [port2],
    });
    worker.unref();
    port1.unref();
    ports.push(port1);
  }
  return {
    size: nWorkers + 1,
    runAll(jobs) {
      if (jobs.length - 1 > nWorkers) {
        throw new LoopmlError(
          "INTERNAL",
          `Thread pool of ${nWorkers + 1} got ${jobs.length} jobs (this is a bug in loopml).`,
        );
      }
      jobsOnWorkers += jobs.length - 1;
      for (let w = 1; w < jobs.length; w++) {
        (ports[w - 1] as MessagePort).postMessage(jobs[w]);
        Atomics.store(control, w - 1, PENDING);
        Atomics.notify(control, w - 1);
      }
      let error: Error | null = null;
      try {
        runJob(jobs[0] as Job);
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
      }
      let failed = false;
      for (let w = 1; w < jobs.length; w++) {
        while (Atomics.load(control, w - 1) === PENDING) Atomics.wait(control, w - 1, PENDING, 1000);
        if (Atomics.load(control, w - 1) === FAILED) {
          failed = true;
          Atomics.store(control, w - 1, IDLE);
        }
      }
      if (error) throw error;
      if (failed) throw new LoopmlError("INTERNAL", "A GBDT worker thread failed (this is a bug in loopml).");
    },
  };
}

function runJob(job: Job): void {
  (KERNELS[job.kind] as (...args: Job["args"]) => void)(...job.args);
}

/** A Float64Array on shared memory with the same contents, so that worker threads can read it. */
export function toShared<T extends Float64Array | Float32Array | Int32Array | Uint32Array | Uint8Array>(
  a: T,
): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as new (buffer: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/** Batches smaller than this many rows are predicted on the calling thread alone. */
const PARALLEL_MIN_ROWS = 10_000;

/**
 * Runs a row-range kernel over rows [0, n) on up to `threads` threads (one thread below 10,000 rows, so
 * single rows are not slowed). `job` builds the job of one range from the feature columns it reads and the
 * row those columns start at: the calling thread reads the caller's columns, each worker a shared copy of
 * its own rows. Outputs that workers write must be on shared memory (see rowThreads).
 */
export function runOnRows(
  columns: readonly Float64Array[],
  n: number,
  threads: number,
  job: (columns: readonly Float64Array[], from: number, to: number, columnsFrom: number) => Job,
): void {
  const parts = rowThreads(n, threads);
  const jobs: Job[] = [];
  for (let p = 0; p < parts; p++) {
    const from = Math.floor((p * n) / parts);
    const to = Math.floor(((p + 1) * n) / parts);
    const rows = p === 0 ? columns : columns.map((c) => toShared(c.subarray(from, to)));
    jobs.push(job(rows, from, to, p === 0 ? 0 : from));
  }
  if (jobs.length === 1) runJob(jobs[0] as Job);
  else getThreadPool(parts).runAll(jobs);
}

/** Threads runOnRows will use for n rows: size the output buffer as shared memory when more than one. */
export function rowThreads(n: number, threads: number): number {
  return Math.max(1, Math.min(threads, Math.floor(n / PARALLEL_MIN_ROWS)));
}
