// The tracking service's behaviour, registered once and run against every metadata backend.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManualClock, createSequentialIds } from "../_internal/clock.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { isLoopmlError } from "../errors.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { MetricColumnsBuilder } from "./columns.ts";
import { parseFilter } from "./filter.ts";
import { createTrackingService, type TrackingService } from "./service.ts";

/** A store URI for a fresh, empty database. */
export type FreshStore = () => Promise<string>;

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  return isLoopmlError(e) ? e.code : e === undefined ? undefined : "not a LoopmlError";
}

export function testTracking(name: string, freshStore: FreshStore): void {
  describe(`tracking service: ${name}`, () => {
    const tmp = makeTempDir();
    let ws: Workspace;
    let t: TrackingService;
    const clock = createManualClock();
    beforeAll(async () => {
      ws = await openWorkspace({
        dir: tmp.path,
        store: await freshStore(),
        artifacts: `file:${join(tmp.path, "objects")}`,
        clock,
        ids: createSequentialIds(),
        actor: "tester",
      });
      t = createTrackingService(ws);
    });
    afterAll(async () => {
      await ws.close();
      tmp.remove();
    });

    it("creates experiments, refuses duplicates and names the known ones when one is missing", async () => {
      const e = await t.createExperiment("churn", { tags: { team: "ml" } });
      expect((await t.getExperiment("churn")).id).toBe(e.id);
      expect((await t.getExperiment(e.id)).tags).toEqual({ team: "ml" });
      expect(await codeOf(t.createExperiment("churn"))).toBe("ALREADY_EXISTS");
      const err = await t.getExperiment("nope").catch((x: unknown) => x);
      expect(isLoopmlError(err, "NOT_FOUND")).toBe(true);
      expect((err as Error).message).toContain("churn");
      expect((await t.listExperiments()).map((x) => x.name)).toEqual(["Default", "churn"]);
    });

    it("logs params, tags and metric series with summaries, keeping NaN and ±Infinity", async () => {
      const run = await t.startRun({
        experiment: "churn",
        name: "first",
        code: { commit: "a".repeat(40), dirty: true },
      });
      await run.logParams({ model: "gbdt", depth: 6 });
      await run.setTags({ owner: "ana" });
      await run.logMetrics({ loss: 0.9 }, 0);
      await run.logMetrics({ loss: 0.5 }, 1);
      await run.logMetric("loss", 0.7, 2);
      await run.logMetric("odd", Number.NaN, 0);
      await run.logMetric("odd", Number.POSITIVE_INFINITY, 1);
      await run.logMetric("odd", Number.NEGATIVE_INFINITY, 2);
      await run.end();
      const r = await t.getRun(run.id);
      expect(r.info.status).toBe("FINISHED");
      expect(r.info.endTime).not.toBeNull();
      expect(r.info.gitCommit).toBe("a".repeat(40));
      expect(r.info.gitDirty).toBe(true);
      expect(r.params).toEqual({ model: "gbdt", depth: "6" });
      expect(r.tags).toEqual({ owner: "ana" });
      expect(r.metrics["loss"]).toMatchObject({ last: 0.7, lastStep: 2, min: 0.5, max: 0.9, count: 3 });
      expect(r.metrics["odd"]).toMatchObject({
        last: Number.NEGATIVE_INFINITY,
        count: 3,
        min: Number.NEGATIVE_INFINITY,
        max: Number.POSITIVE_INFINITY,
      });
      const odd = await t.metricHistory(run.id, "odd");
      expect(odd.map((p) => p.value)).toEqual([
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
      ]);
      expect((await t.metricHistory(run.id, "loss")).map((p) => p.value)).toEqual([0.9, 0.5, 0.7]);
    });

    it("refuses a param re-logged with another value (CONFLICT) and non-numeric metrics, changing nothing", async () => {
      const run = await t.startRun({ experiment: "churn", code: null });
      await run.logParams({ lr: 0.1 });
      await run.logParams({ lr: 0.1 });
      const before = (await ws.audit.list({ target: `run:${run.id}` })).length;
      expect(await codeOf(run.logParams({ lr: 0.2 }))).toBe("CONFLICT");
      expect(
        await codeOf(t.logBatch(run.id, { metrics: [{ key: "m", value: "1" as unknown as number }] })),
      ).toBe("INVALID_ARGUMENT");
      expect(
        await codeOf(
          t.logBatch(run.id, { metrics: [{ key: "ok", value: 1 }], params: [{ key: "lr", value: "9" }] }),
        ),
      ).toBe("CONFLICT");
      const r = await t.getRun(run.id);
      expect(r.params).toEqual({ lr: "0.1" });
      expect(r.metrics["ok"]).toBeUndefined();
      expect((await ws.audit.list({ target: `run:${run.id}` })).length).toBe(before);
      expect(await codeOf(t.getRun("missing"))).toBe("NOT_FOUND");
    });

    it("writes one audit event per batch however many points it holds", async () => {
      const run = await t.startRun({ experiment: "churn", code: null, batchSize: 250 });
      const before = (await ws.audit.list({ target: `run:${run.id}` })).length;
      for (let step = 0; step < 1000; step++) await run.logMetric("x", step, step);
      await run.flush();
      const events = await ws.audit.list({ target: `run:${run.id}`, action: "run.log-batch" });
      expect(events.length).toBe(4);
      expect((await ws.audit.list({ target: `run:${run.id}` })).length).toBe(before + 4);
      const r = await t.getRun(run.id);
      expect(r.metrics["x"]).toMatchObject({ last: 999, min: 0, max: 999, count: 1000 });
      await run.end();
    });

    it("writes columnar batches through the bulk path with exact summaries across batches", async () => {
      const run = await t.startRun({ experiment: "churn", code: null });
      const b = new MetricColumnsBuilder(4);
      b.push("loss", 0.4, 5, 1000);
      b.push("loss", Number.NaN, 6, 1001);
      b.push("acc", Number.POSITIVE_INFINITY, 0, 1000);
      for (let i = 0; i < 3000; i++) b.push("acc", i / 3000, i + 1, 2000 + i);
      // Objects and columns in one batch; then an older step arrives late and must not become "last".
      await t.logBatch(run.id, { metrics: [{ key: "loss", value: 0.9, step: 1 }], points: b.take() });
      b.push("loss", -1, 2, 999);
      b.push("acc", Number.NEGATIVE_INFINITY, 3001, 9000);
      await t.logBatch(run.id, { points: b.take() });
      const r = await t.getRun(run.id);
      expect(r.metrics["loss"]).toMatchObject({ lastStep: 6, min: -1, max: 0.9, count: 4 });
      expect(r.metrics["loss"]?.last).toBeNaN();
      expect(r.metrics["acc"]).toMatchObject({
        last: Number.NEGATIVE_INFINITY,
        lastStep: 3001,
        min: Number.NEGATIVE_INFINITY,
        max: Number.POSITIVE_INFINITY,
        count: 3002,
      });
      const loss = await t.metricHistory(run.id, "loss");
      expect(loss.map((p) => p.step)).toEqual([1, 2, 5, 6]);
      expect(loss[1]).toMatchObject({ value: -1, timestamp: 999 });
      expect((await t.metricHistory(run.id, "acc")).length).toBe(3002);
      const bad = (
        mutate: (c: ReturnType<MetricColumnsBuilder["take"]>) => void,
      ): Promise<string | undefined> => {
        b.push("fine", 1, 1, 1);
        const c = b.take();
        mutate(c);
        return codeOf(t.logBatch(run.id, { points: c }));
      };
      expect(await bad((c) => (c.step[0] = 0.5))).toBe("INVALID_ARGUMENT");
      expect(await bad((c) => (c.timestamp[0] = Number.NaN))).toBe("INVALID_ARGUMENT");
      expect(await bad((c) => (c.key[0] = 7))).toBe("INVALID_ARGUMENT");
      expect(await bad((c) => ((c.keys as string[])[0] = "../up"))).toBe("INVALID_ARGUMENT");
      expect((await t.getRun(run.id)).metrics["fine"]).toBeUndefined();
      await run.end();
    });

    it("ends the run FAILED when the callback throws", async () => {
      let id = "";
      const err = await t
        .withRun({ experiment: "churn", code: null }, async (run) => {
          id = run.id;
          await run.logMetric("m", 1);
          throw new Error("training blew up");
        })
        .catch((e: unknown) => e);
      expect((err as Error).message).toBe("training blew up");
      const r = await t.getRun(id);
      expect(r.info.status).toBe("FAILED");
      expect(r.metrics["m"]?.last).toBe(1);
    });

    it("stores artifacts as blobs and rejects paths that escape the run", async () => {
      const run = await t.startRun({ experiment: "churn", code: null });
      const dir = join(tmp.path, "model");
      mkdirSync(join(dir, "sub"), { recursive: true });
      writeFileSync(join(dir, "a.txt"), "hello");
      writeFileSync(join(dir, "sub", "b.json"), "{}");
      await run.logArtifact(dir);
      await run.logArtifact(join(dir, "a.txt"), "copies/a.txt");
      const list = await t.listArtifacts(run.id, "model");
      expect(list.map((e) => e.path)).toEqual(["model/a.txt", "model/sub/b.json"]);
      const { stream } = await t.openArtifact(run.id, "copies/a.txt");
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe("hello");
      for (const bad of ["../x", "/etc/passwd", "a/../../b", "a\\b", ""]) {
        expect(await codeOf(t.putArtifact(run.id, bad, Buffer.from("x")))).toBe("INVALID_ARGUMENT");
      }
      expect(await codeOf(t.openArtifact(run.id, "nope.txt"))).toBe("NOT_FOUND");
    });

    it("records dataset inputs as NAME@VERSION and rejects other forms", async () => {
      const run = await t.startRun({ experiment: "churn", code: null });
      await run.logInputs(["flights@3", "holdout@1"], "training");
      expect((await t.getRun(run.id)).inputs).toEqual([
        { dataset: "flights", version: "3", context: "training" },
        { dataset: "holdout", version: "1", context: "training" },
      ]);
      expect(await codeOf(run.logInputs(["flights"]))).toBe("INVALID_ARGUMENT");
    });

    it("searches with the filter language, orders by metrics and pages with a cursor", async () => {
      await t.createExperiment("grid");
      for (let i = 0; i < 12; i++) {
        clock.advance(1000);
        const run = await t.startRun({
          experiment: "grid",
          code: null,
          tags: { parity: i % 2 === 0 ? "even" : "odd" },
        });
        await run.logParams({ model: i % 3 === 0 ? "gbdt" : "linear", i });
        await run.logMetrics({ auc: 0.5 + i / 100, rmse: 10 - i });
        if (i === 11) await run.logMetric("auc", Number.NaN, 5);
        await run.end(i === 4 ? "FAILED" : "FINISHED");
      }
      const page = await t.searchRuns({
        experiments: ["grid"],
        filter: 'metrics.auc > 0.52 and params.model = "gbdt" and status = "FINISHED"',
        orderBy: ["metrics.auc DESC"],
      });
      expect(page.runs.map((r) => r.params["i"])).toEqual(["9", "6", "3"]);
      const tagged = await t.searchRuns({
        experiments: ["grid"],
        filter: "tags.parity = 'odd' and metrics.rmse <= 3",
        orderBy: ["metrics.rmse"],
      });
      expect(tagged.runs.map((r) => r.params["i"])).toEqual(["11", "9", "7"]);
      // NaN sorts after every number.
      const byAuc = await t.searchRuns({
        experiments: ["grid"],
        orderBy: ["metrics.auc DESC"],
        maxResults: 5,
      });
      expect(byAuc.runs.map((r) => r.params["i"])).toEqual(["10", "9", "8", "7", "6"]);
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const p = await t.searchRuns({
          experiments: ["grid"],
          orderBy: ["params.i"],
          maxResults: 5,
          ...(token !== undefined && { pageToken: token }),
        });
        seen.push(...p.runs.map((r) => r.params["i"] ?? ""));
        token = p.nextPageToken;
      } while (token !== undefined);
      expect(seen).toHaveLength(12);
      expect(new Set(seen).size).toBe(12);
      // Paging by a metric crosses from runs with a value to the run whose last value is NaN.
      const byMetric: string[] = [];
      let cursor: string | undefined;
      do {
        const p = await t.searchRuns({
          experiments: ["grid"],
          orderBy: ["metrics.auc DESC"],
          maxResults: 5,
          ...(cursor !== undefined && { pageToken: cursor }),
        });
        byMetric.push(...p.runs.map((r) => r.params["i"] ?? ""));
        cursor = p.nextPageToken;
      } while (cursor !== undefined);
      expect(byMetric).toEqual(["10", "9", "8", "7", "6", "5", "4", "3", "2", "1", "0", "11"]);
      // Newest first by keyset cursor: a run started after the first page does not shift the next one.
      const first = await t.searchRuns({ experiments: ["grid"], maxResults: 5 });
      expect(first.nextPageToken).toBeDefined();
      const late = await t.createRun({ experiment: "grid", code: null, startTime: 9e15 });
      const rest: string[] = [];
      let after = first.nextPageToken;
      while (after !== undefined) {
        const p = await t.searchRuns({ experiments: ["grid"], maxResults: 5, pageToken: after });
        rest.push(...p.runs.map((r) => r.info.id));
        after = p.nextPageToken;
      }
      expect(rest).toHaveLength(7);
      expect(rest).not.toContain(late.id);
      expect(new Set([...first.runs.map((r) => r.info.id), ...rest]).size).toBe(12);
      await t.deleteRun(late.id);
      // A cursor belongs to the ordering that issued it.
      expect(
        await codeOf(
          t.searchRuns({ experiments: ["grid"], orderBy: ["params.i"], pageToken: first.nextPageToken }),
        ),
      ).toBe("INVALID_ARGUMENT");
      const like = await t.searchRuns({
        experiments: ["grid"],
        filter: "params.model ILIKE 'GB%' and attributes.status IN ('FINISHED')",
      });
      expect(like.runs).toHaveLength(4);
      expect(await t.countRuns("grid")).toBe(12);
      expect(await codeOf(t.searchRuns({ filter: "metrics.auc > 'x'" }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(t.searchRuns({ filter: "bogus = 1" }))).toBe("INVALID_ARGUMENT");
      expect(await codeOf(t.searchRuns({ pageToken: "garbage" }))).toBe("INVALID_ARGUMENT");
    });

    it("compares runs side by side", async () => {
      const page = await t.searchRuns({ experiments: ["grid"], orderBy: ["params.i"], maxResults: 2 });
      const cmp = await t.compareRuns(page.runs.map((r) => r.info.id));
      expect(cmp.runs).toHaveLength(2);
      expect(cmp.params.find((p) => p.key === "i")).toMatchObject({ values: ["0", "1"], differs: true });
      expect(cmp.metrics.find((m) => m.key === "rmse")?.last).toEqual([10, 9]);
    });

    it("nests runs under a parent and deletes runs out of search", async () => {
      const parent = await t.createRun({ experiment: "churn", code: null });
      const child = await t.createRun({ experiment: "churn", code: null, parentRunId: parent.id });
      expect(child.parentRunId).toBe(parent.id);
      expect(await codeOf(t.createRun({ experiment: "churn", code: null, parentRunId: "nope" }))).toBe(
        "NOT_FOUND",
      );
      await t.deleteRun(child.id);
      const found = await t.searchRuns({ experiments: ["churn"], filter: `parent_run_id = '${parent.id}'` });
      expect(found.runs).toHaveLength(0);
    });

    it("counts an experiment's active runs from the trigger-kept counter, whatever writes the runs", async () => {
      const e = await t.createExperiment("counted");
      expect(await t.countRuns("counted")).toBe(0);
      const runs: string[] = [];
      for (let i = 0; i < 3; i++) runs.push((await t.createRun({ experiment: "counted", code: null })).id);
      expect(await t.countRuns("counted")).toBe(3);
      await t.deleteRun(runs[0] as string);
      expect(await t.countRuns(e.id)).toBe(2);
      await t.restoreRun(runs[0] as string);
      expect(await t.countRuns(e.id)).toBe(3);
      // A bulk load straight into the table, a move between experiments and a hard delete keep it exact too.
      await ws.store.transaction(async (tx) => {
        await tx
          .insertInto("runs")
          .values(
            ["a", "b"].map((n) => ({
              id: `bulk-${n}`,
              experiment_id: e.id,
              name: n,
              status: "FINISHED" as const,
              lifecycle_stage: n === "a" ? ("active" as const) : ("deleted" as const),
              start_time: 1,
              end_time: 2,
              parent_run_id: null,
              git_commit: null,
              git_dirty: null,
              user_id: "loader",
            })),
          )
          .execute();
        await tx
          .updateTable("runs")
          .set({ experiment_id: "0" })
          .where("id", "=", runs[1] as string)
          .execute();
        await tx
          .deleteFrom("runs")
          .where("id", "=", runs[2] as string)
          .execute();
      });
      expect(await t.countRuns(e.id)).toBe(2);
      const actual = await ws.store.db
        .selectFrom("runs")
        .select((eb) => eb.fn.countAll<number | string>().as("n"))
        .where("experiment_id", "=", e.id)
        .where("lifecycle_stage", "=", "active")
        .executeTakeFirstOrThrow();
      expect(Number(actual.n)).toBe(2);
    });
  });
}

describe("filter language", () => {
  it("parses quoted names, IN lists and comparison operators", () => {
    expect(
      parseFilter(
        'metrics.`val auc` >= 0.9 AND params."lr" != "0.1" and run_name LIKE "a%" and status NOT IN ("FAILED")',
      ),
    ).toEqual([
      { entity: "metric", key: "val auc", op: ">=", value: 0.9 },
      { entity: "param", key: "lr", op: "!=", value: "0.1" },
      { entity: "attribute", key: "run_name", op: "LIKE", value: "a%" },
      { entity: "attribute", key: "status", op: "NOT IN", value: ["FAILED"] },
    ]);
    expect(() => parseFilter("metrics.a > 1 or metrics.b > 2")).toThrow(/and/);
  });
});
