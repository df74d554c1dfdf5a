// The deployment service's behaviour, registered once and run against every metadata backend.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { isLoopmlError } from "../errors.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { createDeploymentService, type DeploymentService } from "./deployments.ts";

async function failure(p: Promise<unknown>): Promise<{ code?: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  return isLoopmlError(e) ? { code: e.code, message: e.message } : { message: "no LoopmlError" };
}

export function testDeployments(name: string, freshStore: () => Promise<string>): void {
  describe(`deployments: ${name}`, () => {
    const tmp = makeTempDir();
    let ws: Workspace;
    let deployments: DeploymentService;
    beforeAll(async () => {
      ws = await openWorkspace({
        dir: tmp.path,
        store: await freshStore(),
        artifacts: `file:${join(tmp.path, "objects")}`,
        actor: "tester",
      });
      deployments = createDeploymentService(ws);
    });
    afterAll(async () => {
      await ws.close();
      tmp.remove();
    });

    it("creates, updates idempotently, lists and removes, with one audit event per change", async () => {
      const spec = {
        name: "web",
        model: "churn@production",
        canary: { model: "churn@challenger", weight: 0.1 },
        rollback: { maxErrorRateDelta: 0.02, maxP99Ratio: 1.5 },
        logging: { sampleRate: 0.5, retention: { maxAge: "7d", maxRows: 1_000_000 } },
      };
      // Unknown fields (e.g. replicas, which belong to the manifests) are not stored.
      await deployments.upsert({ ...spec, replicas: 3 } as typeof spec);
      await deployments.upsert(spec);
      expect(await deployments.get("web")).toEqual(spec);
      await deployments.upsert({ name: "web", model: "churn@production", shadow: { model: "churn@next" } });
      await deployments.upsert({ name: "api", model: "fraud@production" });
      expect((await deployments.list()).map((d) => d.name)).toEqual(["api", "web"]);
      expect((await deployments.get("web")).canary).toBeUndefined();
      await deployments.remove("api");
      const events = await ws.audit.list({ targetPrefix: "deployment:" });
      expect(events.map((e) => `${e.action} ${e.target}`)).toEqual([
        "deployment.create deployment:web",
        "deployment.update deployment:web",
        "deployment.create deployment:api",
        "deployment.remove deployment:api",
      ]);
      expect(events[1]?.details["before"]).toMatchObject({ canary: { weight: 0.1 } });
      expect((await ws.audit.verify()).ok).toBe(true);
    });

    it("names the field and the problem for bad specs, and NOT_FOUND lists what exists", async () => {
      const bad = async (spec: unknown): Promise<string> => {
        const f = await failure(deployments.upsert(spec as never));
        expect(f.code).toBe("INVALID_ARGUMENT");
        return f.message;
      };
      expect(await bad({ name: "x", model: "churn" })).toMatch(
        /model: "churn" is not a model reference "name@alias"/,
      );
      expect(await bad({ name: "x", model: "a@b", canary: { model: "a@c", weight: 10 } })).toMatch(
        /canary\.weight: 10 is not a share of traffic between 0 and 1/,
      );
      expect(await bad({ name: "x y", model: "a@b" })).toMatch(/not a deployment name/);
      expect(await bad({ name: "x", model: "a@b", rollback: { maxErrorRateDelta: 0.1 } })).toMatch(
        /maxP99Ratio/,
      );
      const logging = (retention: unknown): unknown => ({
        name: "x",
        model: "a@b",
        logging: { sampleRate: 1, retention },
      });
      expect(await bad(logging({ maxAge: "7 days" }))).toMatch(/logging\.retention\.maxAge: .*"7 days"/);
      expect(await bad(logging({ maxRows: 0.5 }))).toMatch(
        /logging\.retention\.maxRows: 0\.5 is not a whole/,
      );
      expect(await bad(logging({}))).toMatch(/logging\.retention: set maxAge and\/or maxRows/);
      const missing = await failure(deployments.get("nope"));
      expect(missing.code).toBe("NOT_FOUND");
      expect(missing.message).toMatch(/deployments: web/);
      expect((await failure(deployments.remove("nope"))).code).toBe("NOT_FOUND");
    });
  });
}
