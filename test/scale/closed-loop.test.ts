// [slow] Scale-out: the closed loop on PostgreSQL + S3 (s3rver) + Redis with two `loopml worker` processes and two
// serving replicas gives the same models as the embedded default (SQLite + local blobs, no queue), and the
// replicas hot-swap to the retrained version without one failed request.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type PostgresServer } from "../setup/postgres.ts";
import { startRedis, type RedisHandle } from "../setup/redis.ts";
import { S3RVER_CREDENTIALS, S3RVER_REGION, startS3rver, type S3rverHandle } from "../setup/s3rver.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { loopmlOk, startLoopml, type LoopmlChild } from "./procs.ts";
import { closedLoop, type ScenarioResult } from "./scenario.ts";

let pg: PostgresServer;
let redis: RedisHandle;
let s3: S3rverHandle;
const tmp = makeTempDir("loopml-scale-");

beforeAll(async () => {
  [pg, redis, s3] = await Promise.all([startPostgres(), startRedis(), startS3rver()]);
}, 120_000);
afterAll(async () => {
  pg?.stop();
  await Promise.all([redis?.stop(), s3?.stop()]);
  tmp.remove();
});

/** What points a loopml process at the scaled-out engines: configuration only. */
function scaleOutEnv(database: string): NodeJS.ProcessEnv {
  pg.createDatabase(database);
  return {
    LOOPML_STORE: pg.url(database),
    LOOPML_ARTIFACTS: `s3://${s3.bucket}/${database}`,
    LOOPML_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: S3RVER_REGION,
    LOOPML_QUEUE: redis.url,
  };
}

describe("[slow] closed loop scaled out", () => {
  it("runs on PostgreSQL + S3 + Redis with 2 workers and 2 replicas, with the embedded default's models", async () => {
    const env = scaleOutEnv("closed_loop");
    const workers: LoopmlChild[] = [];
    let scaled: ScenarioResult;
    try {
      scaled = await closedLoop(join(tmp.path, "scaled"), {
        env,
        replicas: 2,
        beforeTraining: async () => {
          // Each worker in its own empty folder, as on another machine: all it shares is the store, S3 and Redis.
          for (const name of ["w1", "w2"]) {
            const cwd = join(tmp.path, name);
            mkdirSync(cwd);
            workers.push(startLoopml(["worker", "--json"], { cwd, env }));
          }
          await Promise.all(workers.map((w) => w.waitFor(/"type":"ready"/)));
        },
      });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    // Every step of both trainings ran on a worker. (On a loaded machine a step that outlives its lease may run a
    // second time on the other worker; the first result recorded is the one the pipeline uses.)
    const ran = workers
      .flatMap((w) => w.output().split("\n"))
      .filter((l) => l.includes('"type":"finished"'))
      .map((l) => JSON.parse(l) as { step: string; ok: boolean; duplicate: boolean })
      .filter((f) => f.ok && !f.duplicate)
      .map((f) => f.step);
    for (const step of ["automl", "register", "promote"])
      expect(ran.filter((s) => s === step).length).toBeGreaterThanOrEqual(2);
    expect(scaled.datasetVersions).toEqual([1, 2]);
    expect(scaled.servedBefore).toEqual(["1", "1"]);
    expect(scaled.servedAfter).toEqual(["2", "2"]);
    expect(scaled.traffic.errors).toEqual([]);
    expect(scaled.traffic.failed).toBe(0);
    expect(scaled.traffic.ok).toBeGreaterThan(20);
    const verify = JSON.parse(
      await loopmlOk(["audit", "verify", "--json"], { cwd: join(tmp.path, "scaled"), env }),
    ) as { ok: boolean };
    expect(verify.ok).toBe(true);

    const embedded = await closedLoop(join(tmp.path, "embedded"), { env: {}, replicas: 1 });
    expect(embedded.traffic.failed).toBe(0);
    expect(embedded.servedAfter).toEqual(["2"]);
    // Same data, same seed: the same search, the same scores, byte-identical model files.
    expect(scaled.trainings).toEqual(embedded.trainings);
    expect(scaled.trainings[1]?.metrics["validation_roc_auc"]).toBeGreaterThan(0.5);
  }, 600_000);
});
