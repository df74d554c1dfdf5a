// Batch scoring streams a CSV through the runtime in chunks and writes the output only when complete.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import { scoreCsvFile } from "./batch-predict.ts";
import { loadRuntime } from "./runtimes/load.ts";

const FIXTURE = join(import.meta.dirname, "fixtures", "xgb-multiclass");
const runtime = loadRuntime(JSON.parse(readFileSync(join(FIXTURE, "m.json"), "utf8")));
const expected = JSON.parse(readFileSync(join(FIXTURE, "expected.json"), "utf8")) as {
  inputs: (number | null)[][];
  predictions: number[][];
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "loopml-score-"));
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe("scoreCsvFile", () => {
  it("scores every row in chunks, skipping extra columns, with probabilities equal to XGBoost's", async () => {
    // Columns shuffled and an id column added: the header decides, not the position.
    const header = ["id", "f_4", "f_3", "f_2", "f_1", "f_0"];
    const lines = expected.inputs.map((r, i) =>
      [`"row ${i}"`, ...[...r].reverse().map((v) => (v === null ? "" : String(v)))].join(","),
    );
    const input = join(dir, "in.csv");
    await writeFile(input, `${header.join(",")}\r\n${lines.join("\r\n")}`);
    const output = join(dir, "out.csv");
    const progress: number[] = [];
    const result = await scoreCsvFile({
      runtime,
      input,
      output,
      chunkRows: 7,
      probabilities: true,
      onProgress: (b) => progress.push(b),
    });
    expect(result.rows).toBe(expected.inputs.length);
    expect(progress.at(-1)).toBe((await stat(input)).size);
    const out = (await readFile(output, "utf8")).trim().split("\n");
    expect(out[0]).toBe("prediction,p_0,p_1,p_2,p_3");
    expect(out).toHaveLength(expected.inputs.length + 1);
    out.slice(1).forEach((line, r) => {
      const [label, ...p] = line.split(",").map(Number);
      const want = expected.predictions[r] as number[];
      p.forEach((v, k) => expect(Math.abs(v - (want[k] as number))).toBeLessThanOrEqual(1e-6));
      expect(label).toBe(want.indexOf(Math.max(...want)));
    });
  });

  it("writes JSON lines when the output ends in .jsonl", async () => {
    const input = join(dir, "in.csv");
    await writeFile(input, "f_0,f_1,f_2,f_3,f_4\n1,2,3,4,5\n,,,,\n");
    const output = join(dir, "out.jsonl");
    await scoreCsvFile({ runtime, input, output });
    const rows = (await readFile(output, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { prediction: number });
    expect(rows).toHaveLength(2);
    expect(typeof rows[0]?.prediction).toBe("number");
  });

  it("fails on a bad cell naming column and row, leaving no output file", async () => {
    const input = join(dir, "in.csv");
    await writeFile(input, "f_0,f_1,f_2,f_3,f_4\n1,2,3,4,5\n1,2,oops,4,5\n");
    const output = join(dir, "out.csv");
    let caught: unknown;
    try {
      await scoreCsvFile({ runtime, input, output, chunkRows: 1 });
    } catch (e) {
      caught = e;
    }
    expect(isLoopmlError(caught, "INVALID_ARGUMENT")).toBe(true);
    expect((caught as Error).message).toMatch(/Column "f_2" \(double\), row 1: "oops" is not a number/);
    await expect(stat(output)).rejects.toThrow();
    await expect(stat(`${output}.tmp-${process.pid}`)).rejects.toThrow();
  });

  it("names the columns the file lacks", async () => {
    const input = join(dir, "in.csv");
    await writeFile(input, "f_0,f_1\n1,2\n");
    await expect(scoreCsvFile({ runtime, input, output: join(dir, "o.csv") })).rejects.toThrow(
      /lacks columns "f_2", "f_3", "f_4"/,
    );
  });
});
