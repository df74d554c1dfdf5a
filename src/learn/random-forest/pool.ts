// Grows trees on worker threads: each worker gets a range of tree indices and sends the trees back.
import { Worker } from "node:worker_threads";
import { LoopmlError } from "../../errors.ts";
import { growTrees, type GrowJob, type GrownForestTree } from "./grow.ts";

// `__name` is what esbuild's keepNames (tsx, vitest) wraps inner functions in; the worker has no such helper.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const __name = (f) => f;
const growTrees = ${growTrees.toString()};
parentPort.on("message", (job) => {
  try {
    const trees = growTrees(job);
    const transfer = [];
    for (const t of trees) for (const a of Object.values(t)) transfer.push(a.buffer);
    parentPort.postMessage({ trees }, transfer);
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.stack) || e) });
  }
});
`;

/**
 * Grows trees [0, nTrees) split over `threads` workers (the job's bins and labels must be on shared
 * memory); trees come back in index order, so the forest is the same whatever the thread count.
 */
export async function growInParallel(
  job: Omit<GrowJob, "treeFrom" | "treeTo">,
  nTrees: number,
  threads: number,
): Promise<GrownForestTree[]> {
  if (threads <= 1) return growTrees({ ...job, treeFrom: 0, treeTo: nTrees });
  const parts: Promise<GrownForestTree[]>[] = [];
  const workers: Worker[] = [];
  try {
    for (let p = 0; p < threads; p++) {
      const treeFrom = Math.floor((p * nTrees) / threads);
      const treeTo = Math.floor(((p + 1) * nTrees) / threads);
      const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
      workers.push(worker);
      parts.push(
        new Promise((resolve, reject) => {
          worker.once("message", (m: { trees?: GrownForestTree[]; error?: string }) => {
            if (m.trees) resolve(m.trees);
            else
              reject(
                new LoopmlError(
                  "INTERNAL",
                  `A random-forest worker failed (this is a bug in loopml): ${m.error}`,
                ),
              );
          });
          worker.once("error", reject);
        }),
      );
      worker.postMessage({ ...job, treeFrom, treeTo });
    }
    return (await Promise.all(parts)).flat();
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
