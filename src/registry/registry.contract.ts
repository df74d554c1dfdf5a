// The registry's behaviour, registered once and run against every metadata backend.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManualClock, createSequentialIds } from "../_internal/clock.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { isLoopmlError } from "../errors.ts";
import { createTrackingService } from "../tracking/service.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { createRegistryEvents, type RegistryEvents } from "./events.ts";
import { createRegistryService, type RegistryService } from "./service.ts";
import type { AliasMove, Signature } from "./types.ts";

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string; details?: unknown }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isLoopmlError(e)) return { message: "did not fail with a LoopmlError" };
  return { code: e.code, message: e.message, details: e.details };
}

const SIG: Signature = {
  inputs: [
    { name: "age", type: "double" },
    { name: "plan", type: "string" },
  ],
  outputs: [{ name: "score", type: "double" }],
};

export function testRegistry(name: string, freshStore: () => Promise<string>): void {
  describe(`registry service: ${name}`, () => {
    const tmp = makeTempDir();
    let ws: Workspace;
    let events: RegistryEvents;
    let admin: RegistryService;
    const as = (actor: string, role: "viewer" | "editor" | "approver" | "admin"): RegistryService =>
      createRegistryService({ ...ws, events }, { actor, role });
    let blobId = "";
    beforeAll(async () => {
      ws = await openWorkspace({
        dir: tmp.path,
        store: await freshStore(),
        artifacts: `file:${join(tmp.path, "objects")}`,
        clock: createManualClock(),
        ids: createSequentialIds(),
        actor: "tester",
      });
      events = createRegistryEvents();
      admin = as("root", "admin");
      blobId = (await ws.blobs.put(Buffer.from("model bytes"))).id;
    });
    afterAll(async () => {
      await ws.close();
      tmp.remove();
    });

    it("registers versions that take their lineage from the run", async () => {
      const tracking = createTrackingService(ws);
      const run = await tracking.startRun({
        experiment: "churn",
        code: { commit: "c".repeat(40), dirty: false },
      });
      await run.logParams({ depth: 6 });
      await run.logMetrics({ rmse: 10, auc: 0.8 });
      await run.logInputs(["flights@1"], "training");
      await run.logInputs(["holdout@2"], "evaluation");
      await run.end();
      const created: number[] = [];
      events.on("version.created", (v) => created.push(v.version));
      await admin.createModel("churn", {
        policy: {
          metricRules: [{ metric: "rmse", op: "<=", factor: 0.99, sameDatasetContext: "evaluation" }],
          approvalFor: ["production"],
          protectedAliases: ["production"],
        },
      });
      expect((await failure(admin.createModel("churn"))).code).toBe("ALREADY_EXISTS");
      const v1 = await admin.createVersion("churn", {
        blobId,
        flavor: "native",
        runId: run.id,
        signature: SIG,
      });
      expect(v1.version).toBe(1);
      expect(v1.metrics).toEqual({ auc: 0.8, rmse: 10 });
      expect(v1.codeVersion).toBe("c".repeat(40));
      expect(v1.datasets).toEqual([
        { dataset: "flights", version: "1", context: "training" },
        { dataset: "holdout", version: "2", context: "evaluation" },
      ]);
      expect(created).toEqual([1]);
      const lineage = await admin.lineage("churn", 1);
      expect(lineage.run?.params).toEqual({ depth: "6" });
      expect(lineage.artifact.blobId).toBe(blobId);
      expect(lineage.datasets.map((d) => `${d.dataset}@${d.version}`)).toEqual(["flights@1", "holdout@2"]);
      expect((await failure(admin.createVersion("churn", { blobId: "f".repeat(64) }))).code).toBe(
        "NOT_FOUND",
      );
      expect((await failure(admin.createVersion("nope", { blobId }))).code).toBe("NOT_FOUND");
      expect((await failure(admin.getVersion("churn", 9))).message).toContain("latest is 1");
    });

    it("moves aliases atomically with history, refusing protected ones and naming existing aliases", async () => {
      const moved: AliasMove[] = [];
      events.on("alias.moved", (m) => moved.push(m));
      await admin.createVersion("churn", {
        blobId,
        metrics: { rmse: 9 },
        signature: SIG,
        datasets: [{ dataset: "holdout", version: "2", context: "evaluation" }],
      });
      await admin.setAlias("churn", "champion", 1);
      await admin.setAlias("churn", "champion", 2);
      expect((await admin.getVersion("churn", "champion")).version).toBe(2);
      expect((await admin.aliasHistory("churn", "champion")).map((h) => [h.from, h.to])).toEqual([
        [null, 1],
        [1, 2],
      ]);
      expect(moved.map((m) => m.to)).toEqual([1, 2]);
      const prot = await failure(admin.setAlias("churn", "production", 1));
      expect(prot.code).toBe("FAILED_PRECONDITION");
      expect(prot.message).toContain("promote");
      const missing = await failure(admin.getVersion("churn", "staging"));
      expect(missing.code).toBe("NOT_FOUND");
      expect(missing.message).toContain("@champion");
      expect((await failure(admin.setAlias("churn", "champion", 1, { expect: 1 }))).code).toBe("CONFLICT");
      expect((await failure(admin.setAlias("churn", "latest", 1))).code).toBe("INVALID_ARGUMENT");
    });

    it("lets concurrent alias moves both land in order, each audited", async () => {
      const before = (await ws.audit.list({ target: "model:churn@race" })).length;
      await Promise.all([admin.setAlias("churn", "race", 1), admin.setAlias("churn", "race", 2)]);
      const history = await admin.aliasHistory("churn", "race");
      expect(history).toHaveLength(2);
      expect(history[1]?.from).toBe(history[0]?.to);
      expect((await ws.audit.list({ target: "model:churn@race" })).length).toBe(before + 2);
      expect((await admin.getModel("churn")).aliases["race"]).toBe(history[1]?.to);
    });

    it("lets exactly one of concurrent compare-and-set promotions win; the others get CONFLICT, all audited", async () => {
      await admin.createModel("cas");
      for (let i = 0; i < 4; i++)
        await admin.createVersion("cas", { blobId, metrics: { rmse: 1 }, signature: SIG });
      await admin.promote("cas", 1, { to: "production" });
      const target = "model:cas@production";
      const before = (await ws.audit.list({ target })).length;
      // Three editors saw v1 holding @production and each promotes their own version at once.
      const tries = [2, 3, 4];
      const results = await Promise.allSettled(
        tries.map((v) => as(`editor${v}`, "editor").promote("cas", v, { to: "production", expect: 1 })),
      );
      const won = tries.filter((_, i) => results[i]?.status === "fulfilled");
      expect(won).toHaveLength(1);
      const winner = won[0] as number;
      for (const r of results) {
        if (r.status === "fulfilled") continue;
        expect(isLoopmlError(r.reason, "CONFLICT")).toBe(true);
        expect((r.reason as Error).message).toContain(`now points at v${winner}, not v1`);
      }
      expect((await admin.getModel("cas")).aliases["production"]).toBe(winner);
      const history = await admin.aliasHistory("cas", "production");
      expect(history.map((h) => [h.from, h.to])).toEqual([
        [null, 1],
        [1, winner],
      ]);
      const events = (await ws.audit.list({ target })).slice(before);
      expect(events.filter((e) => e.action === "model.promote").map((e) => e.actor)).toEqual([
        `editor${winner}`,
      ]);
      const refused = events.filter((e) => e.action === "model.promote.conflict");
      expect(refused.map((e) => e.actor).sort()).toEqual(
        tries.filter((v) => v !== winner).map((v) => `editor${v}`),
      );
      for (const e of refused) expect(e.details).toMatchObject({ expected: 1, current: winner });
      expect(events).toHaveLength(tries.length);
      // The same for plain alias moves; a stale expectation after the race is refused too.
      const moves = await Promise.allSettled([
        admin.setAlias("cas", "canary", 2, { expect: null }),
        admin.setAlias("cas", "canary", 3, { expect: null }),
      ]);
      expect(moves.filter((m) => m.status === "fulfilled")).toHaveLength(1);
      expect((await admin.aliasHistory("cas", "canary")).length).toBe(1);
      expect(
        await ws.audit.list({ target: "model:cas@canary", action: "model.alias.move.conflict" }),
      ).toHaveLength(1);
      expect((await failure(admin.promote("cas", 3, { to: "production", expect: 1 }))).code).toBe("CONFLICT");
      expect((await ws.audit.verify()).ok).toBe(true);
    });

    it("queues a gated promotion for approval; another approver approves it", async () => {
      const editor = as("eve", "editor");
      const first = await editor.promote("churn", 1, { to: "production" });
      expect(first.status).toBe("pending");
      if (first.status !== "pending") return;
      expect((await failure(as("eve", "approver").decide(first.promotion.id, { approve: true }))).code).toBe(
        "PERMISSION_DENIED",
      );
      expect((await failure(editor.decide(first.promotion.id, { approve: true }))).code).toBe(
        "PERMISSION_DENIED",
      );
      const approved = await as("amy", "approver").decide(first.promotion.id, { approve: true });
      expect(approved.status).toBe("approved");
      expect((await admin.getModel("churn")).aliases["production"]).toBe(1);
      expect((await failure(as("amy", "approver").decide(first.promotion.id, { approve: false }))).code).toBe(
        "FAILED_PRECONDITION",
      );
      const events2 = await ws.audit.list({ action: "model.promotion.approve" });
      expect(events2.at(-1)?.actor).toBe("amy");
    });

    it("refuses a promotion whose metric rule fails, listing the rule; only an admin may force it, audited as forced", async () => {
      // v3 is worse than v1 (the production holder) and was evaluated on another holdout version.
      await admin.createVersion("churn", {
        blobId,
        metrics: { rmse: 11 },
        signature: SIG,
        datasets: [{ dataset: "holdout", version: "3", context: "evaluation" }],
      });
      const refused = await failure(as("eve", "editor").promote("churn", 3, { to: "production" }));
      expect(refused.code).toBe("FAILED_PRECONDITION");
      expect(refused.message).toContain("rmse <= production's × 0.99");
      expect(
        (await failure(as("eve", "editor").promote("churn", 3, { to: "production", force: true }))).code,
      ).toBe("PERMISSION_DENIED");
      const forced = await admin.promote("churn", 3, { to: "production", force: true, reason: "hotfix" });
      expect(forced.status).toBe("moved");
      const ev = (await ws.audit.list({ action: "model.promote" })).at(-1);
      expect(ev?.details).toMatchObject({ forced: true, gatePassed: false, reason: "hotfix" });
      expect((await admin.aliasHistory("churn", "production")).at(-1)?.forced).toBe(true);
    });

    it("checks schema compatibility against the holder and rejects promotions on request", async () => {
      await admin.setPolicy("churn", { approvalFor: ["production"], protectedAliases: ["production"] });
      await admin.createVersion("churn", {
        blobId,
        metrics: { rmse: 1 },
        signature: { inputs: [...SIG.inputs, { name: "region", type: "string" }], outputs: SIG.outputs },
      });
      const report = await admin.checkGate("churn", 4, "production");
      expect(report.passed).toBe(false);
      expect(report.rules.find((r) => r.rule === "schema compatible")?.detail).toContain(
        'requires new input "region"',
      );
      await admin.createVersion("churn", { blobId, metrics: { rmse: 1 }, signature: SIG });
      const pending = await as("eve", "editor").promote("churn", 5, { to: "production" });
      if (pending.status !== "pending") throw new Error("expected a pending promotion");
      const rejected = await as("amy", "approver").decide(pending.promotion.id, {
        approve: false,
        reason: "not now",
      });
      expect(rejected.status).toBe("rejected");
      expect((await admin.getModel("churn")).aliases["production"]).toBe(3);
      expect((await admin.listPromotions("churn", "rejected")).map((p) => p.version)).toEqual([5]);
    });
  });
}
