// The tracking, registry and server commands through the real CLI binary, against a workspace seeded by the library.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataService } from "../../src/data/service.ts";
import { createRegistryEvents } from "../../src/registry/events.ts";
import { createRegistryService } from "../../src/registry/service.ts";
import { createTrackingService } from "../../src/tracking/service.ts";
import { openWorkspace } from "../../src/workspace.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { loopml } from "./cli.ts";

const tmp = makeTempDir();
const runIds: string[] = [];
let datasetBlob = "";
let modelBlob = "";
beforeAll(async () => {
  const ws = await openWorkspace({ dir: tmp.path });
  try {
    writeFileSync(join(tmp.path, "flights.csv"), "month,delay\n1,5\n2,7\n");
    const added = await createDataService(ws).add("flights.csv", { name: "flights" });
    datasetBlob = added.version.id;
    const t = createTrackingService(ws);
    for (let i = 0; i < 3; i++) {
      await t.withRun({ experiment: "churn", code: null }, async (run) => {
        runIds.push(run.id);
        await run.logParams({ model: i === 0 ? "linear" : "gbdt" });
        await run.logInputs([`flights@${added.version.seq}`], "training");
        await run.logMetrics({ auc: 0.8 + i / 20 });
      });
    }
    const r = createRegistryService({ ...ws, events: createRegistryEvents() });
    const blob = await ws.blobs.put(Buffer.from("model"));
    modelBlob = blob.id;
    await r.createModel("churn", {
      policy: { metricRules: [{ metric: "auc", op: ">=" }], protectedAliases: ["production"] },
    });
    await r.createVersion("churn", { blobId: blob.id, runId: runIds[2], flavor: "native" });
    await r.createVersion("churn", { blobId: blob.id, runId: runIds[0], flavor: "native" });
  } finally {
    await ws.close();
  }
}, 60_000);
afterAll(() => tmp.remove());

const run = (...args: string[]) => loopml(args, { cwd: tmp.path });

describe("loopml runs | experiments | models | server token", () => {
  it("searches, shows and compares runs", () => {
    const search = run(
      "runs",
      "search",
      "-e",
      "churn",
      "-f",
      'params.model = "gbdt"',
      "-o",
      "metrics.auc DESC",
      "--json",
    );
    expect(search.status).toBe(0);
    const page = JSON.parse(search.stdout) as { runs: Array<{ info: { id: string } }> };
    expect(page.runs.map((r) => r.info.id)).toEqual([runIds[2], runIds[1]]);
    const show = run("runs", "show", runIds[0] as string);
    expect(show.stdout).toContain("model = linear");
    const cmp = run("runs", "compare", ...runIds);
    expect(cmp.stdout).toContain("* params.model");
    const bad = run("runs", "search", "-f", "metrics.auc >");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("Invalid run filter");
    const list = JSON.parse(run("experiments", "list", "--json").stdout) as Array<{
      name: string;
      runs: number;
    }>;
    expect(list.find((e) => e.name === "churn")?.runs).toBe(3);
  });

  it("promotes through the gate, refuses a worse version, and prints lineage", () => {
    expect(run("models", "promote", "churn", "1", "--to", "production").status).toBe(0);
    const refused = run("models", "promote", "churn", "2", "--to", "production");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("auc >= production's");
    const forced = run(
      "models",
      "promote",
      "churn",
      "2",
      "--to",
      "production",
      "--force",
      "--reason",
      "rollback drill",
      "--json",
    );
    expect(JSON.parse(forced.stdout)).toMatchObject({ status: "moved", forced: true });
    const lineage = run("models", "lineage", "churn@production");
    expect(lineage.stdout).toContain(`run ${runIds[0]}`);
    // The chain reaches the artifact's blob and the dataset version's blob id.
    expect(lineage.stdout).toContain(`artifact ${modelBlob} (native)`);
    expect(datasetBlob).toMatch(/^[0-9a-f]{64}$/);
    expect(lineage.stdout).toMatch(new RegExp(`dataset flights@1 \\(training\\) ${datasetBlob}`));
    const models = JSON.parse(run("models", "list", "--json").stdout) as Array<{
      aliases: Record<string, number>;
    }>;
    expect(models[0]?.aliases).toEqual({ production: 2 });
    // Compare-and-set: a promotion that saw v1 holding @production is refused now that v2 does.
    const stale = run("models", "promote", "churn", "1", "--to", "production", "--expect", "1", "--force");
    expect(stale.status).toBe(1);
    expect(stale.stderr).toContain("now points at v2, not v1");
    expect(run("models", "promote", "churn", "1", "--to", "production", "--expect", "x").stderr).toContain(
      '--expect takes a version number or "none"',
    );
  });

  it("creates a token shown once and lists it without its value", () => {
    const created = run("server", "token", "create", "ci", "--role", "editor");
    const token = created.stdout.split("\n")[0] ?? "";
    expect(token).toMatch(/^lml_/);
    const list = run("server", "token", "list");
    expect(list.stdout).toContain("ci");
    expect(list.stdout).not.toContain(token);
  });
});
