// The queue suites' shared setup: a throwaway Redis and temp folder per suite, and `loopml worker` processes on that queue.
import { afterAll, beforeAll } from "vitest";
import { startLoopml, type LoopmlChild } from "../scale/procs.ts";
import { startRedis, type RedisHandle } from "./redis.ts";
import { makeTempDir } from "./tmp.ts";

export interface QueueSuite {
  /** Set once the suite's beforeAll ran. */
  readonly redis: RedisHandle;
  readonly tmp: { readonly path: string };
}

/**
 * Registers the suite's beforeAll (start Redis, make a temp folder) and afterAll (stop and remove both).
 *
 * @example
 * const suite = useQueueSuite();
 * it("…", async () => { const queue = suite.redis.url; const dir = suite.tmp.path; });
 */
export function useQueueSuite(): QueueSuite {
  let redis: RedisHandle | undefined;
  let tmp: ReturnType<typeof makeTempDir> | undefined;
  beforeAll(async () => {
    redis = await startRedis();
    tmp = makeTempDir();
  });
  afterAll(async () => {
    await redis?.stop();
    tmp?.remove();
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error("the queue suite is used before its beforeAll ran");
    return v;
  };
  return {
    get redis() {
      return started(redis);
    },
    get tmp() {
      return started(tmp);
    },
  };
}

/** `loopml worker --json ARGS` in `cwd` on the queue at `queueUrl` (the store is the project's own). */
export function startQueueWorker(cwd: string, queueUrl: string, args: readonly string[] = []): LoopmlChild {
  return startLoopml(["worker", "--json", ...args], { cwd, env: { LOOPML_QUEUE: queueUrl } });
}

/** Resolves once every worker announced it is ready to take jobs. */
export async function workersReady(workers: readonly LoopmlChild[]): Promise<void> {
  await Promise.all(workers.map((w) => w.waitFor(/"ready"/)));
}
