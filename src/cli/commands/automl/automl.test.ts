import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadAutomlModel } from "../../../automl/model.ts";
import { isLoopmlError } from "../../../errors.ts";
import { frameFromColumns } from "../../../learn/frame.ts";
import { createDataService } from "../../../data/service.ts";
import { createRegistryEvents } from "../../../registry/events.ts";
import { createRegistryService } from "../../../registry/service.ts";
import { decodeColumns } from "../../../serving/decode.ts";
import { loadRuntimeFromBytes } from "../../../serving/runtimes/load.ts";
import { openWorkspace } from "../../../workspace.ts";
import { parseBudget, registerAutomlCommand } from "./index.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "loopml-automl-cli-"));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

function program(): Command {
  const p = new Command("loopml").option("-C, --dir <path>", "project folder", dir).exitOverride();
  registerAutomlCommand(p);
  return p;
}

describe("loopml automl", () => {
  it("reads a CSV, prints the leaderboard as JSON and writes a model that predicts", async () => {
    const lines = ["id,x,kind,label"];
    for (let i = 0; i < 80; i++)
      lines.push(
        `${i},${(i * 37) % 100},${i % 3 === 0 ? "a" : "b"},${(i * 37) % 100 > 50 === (i % 3 === 0) ? "up" : "down"}`,
      );
    await writeFile(join(dir, "t.csv"), `${lines.join("\n")}\n`);
    let out = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((out += String(chunk)), true));
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    await program().parseAsync(
      [
        "automl",
        "--data",
        "t.csv",
        "--target",
        "label",
        "--max-trials",
        "3",
        "--seed",
        "1",
        "--out",
        "m.json",
        "--json",
      ],
      { from: "user" },
    );
    const doc = JSON.parse(out) as {
      problem: { task: string; dropped: { name: string }[] };
      leaderboard: unknown[];
      trials: unknown[];
    };
    expect(doc.problem.task).toBe("binary");
    expect(doc.problem.dropped.map((d) => d.name)).toEqual(["id"]);
    expect(doc.trials).toHaveLength(3);
    const model = loadAutomlModel(await readFile(join(dir, "m.json"), "utf8"));
    const rows = frameFromColumns({ x: [90, 10], kind: ["a", "b"] });
    expect(model.predictLabels(rows)).toHaveLength(2);
  });

  it("trains on a dataset version and registers a servable winner with its lineage", async () => {
    const lines = ["x,kind,label"];
    for (let i = 0; i < 90; i++)
      // Every 7th label flipped, so that x predicts well but not perfectly (a perfect predictor is dropped as a leak).
      lines.push(
        `${(i * 37) % 100},${i % 3 === 0 ? "a" : "b"},${(i * 37) % 100 > 50 !== (i % 7 === 0) ? "up" : "down"}`,
      );
    await writeFile(join(dir, "t.csv"), `${lines.join("\n")}\n`);
    const ws = await openWorkspace({ dir });
    try {
      await createDataService(ws).add(join(dir, "t.csv"), { name: "tbl" });
    } finally {
      await ws.close();
    }
    let out = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((out += String(chunk)), true));
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    await program().parseAsync(
      ["automl", "--data", "tbl@latest", "--target", "label", "--max-trials", "3", "--name", "m", "--json"],
      { from: "user" },
    );
    const doc = JSON.parse(out) as { registered: { model: string; version: number } };
    expect(doc.registered).toEqual({ model: "m", version: 1 });
    const again = await openWorkspace({ dir });
    try {
      const registry = createRegistryService({ ...again, events: createRegistryEvents() });
      const v = await registry.getVersion("m", 1);
      expect(v.datasets).toEqual([{ dataset: "tbl", version: "1", context: "training" }]);
      expect(v.runId).toBeTruthy();
      expect(v.signature?.inputs.map((c) => [c.name, c.type])).toEqual([
        ["x", "double"],
        ["kind", "string"],
      ]);
      if (v.blobId === null) throw new Error("the registered version should have an artifact");
      const runtime = await loadRuntimeFromBytes(await again.blobs.getBytes(v.blobId), v.flavor, "m@1");
      const { predictions } = runtime.predict(
        decodeColumns(runtime.signature, { x: [90, 10], kind: ["a", "b"] }),
      );
      expect(Array.from(predictions)).toEqual([1, 0]);
    } finally {
      await again.close();
    }
  });

  it("parses budgets and rejects nonsense", () => {
    expect([
      parseBudget("90"),
      parseBudget("60s"),
      parseBudget("5m"),
      parseBudget("1m30s"),
      parseBudget("1h"),
    ]).toEqual([90, 60, 300, 90, 3600]);
    for (const bad of ["", "fast", "0s", "-5m"]) {
      let code: string | undefined;
      try {
        parseBudget(bad);
      } catch (e) {
        code = isLoopmlError(e) ? e.code : "other";
      }
      expect(code).toBe("INVALID_ARGUMENT");
    }
  });
});
