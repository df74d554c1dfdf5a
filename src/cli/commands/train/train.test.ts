import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { frameFromColumns } from "../../../learn/frame.ts";
import { loadTabularModel } from "../../../learn/learner/index.ts";
import { parseParams, registerTrainCommand } from "./index.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "loopml-train-cli-"));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

function program(): Command {
  const p = new Command("loopml").option("-C, --dir <path>", "project folder", dir).exitOverride();
  registerTrainCommand(p);
  return p;
}

describe("loopml train", () => {
  it("trains a random forest on a CSV, evaluates it on a test CSV and writes a model that predicts", async () => {
    const lines = ["x,kind,label"];
    for (let i = 0; i < 200; i++)
      lines.push(`${(i * 37) % 100},${i % 3 === 0 ? "a" : "b"},${(i * 37) % 100 > 50 ? "up" : "down"}`);
    await writeFile(join(dir, "train.csv"), `${lines.slice(0, 151).join("\n")}\n`);
    await writeFile(join(dir, "test.csv"), `${[lines[0], ...lines.slice(151)].join("\n")}\n`);
    let out = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((out += String(chunk)), true));
    await program().parseAsync(
      [
        "train",
        "--data",
        "train.csv",
        "--test",
        "test.csv",
        "--target",
        "label",
        "--learner",
        "rf",
        "--param",
        "nTrees=20",
        "--seed",
        "1",
        "--out",
        "m.json",
        "--json",
      ],
      { from: "user" },
    );
    const doc = JSON.parse(out) as {
      task: string;
      metrics: { accuracy: number; roc_auc: number };
      fitSeconds: number;
    };
    expect(doc.task).toBe("binary");
    expect(doc.metrics.accuracy).toBeGreaterThan(0.9);
    expect(doc.fitSeconds).toBeGreaterThan(0);
    const model = loadTabularModel(await readFile(join(dir, "m.json"), "utf8"));
    expect(model.predict(frameFromColumns({ x: [90, 10], kind: ["a", "b"] }))).toHaveLength(2);
  });

  it("parses k=v parameters and rejects malformed ones", () => {
    expect(parseParams(["nTrees=20", "maxFeatures=sqrt", "bootstrap=false"])).toEqual({
      nTrees: 20,
      maxFeatures: "sqrt",
      bootstrap: false,
    });
    expect(() => parseParams(["nTrees"])).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }) as Error,
    );
  });
});
