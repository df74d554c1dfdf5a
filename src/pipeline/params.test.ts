import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { parseParamArgs, resolveParams } from "./params.ts";
import { parsePipelinesYaml } from "./parse.ts";
import { buildDag, selectSteps } from "./plan.ts";
import type { PipelineSpec } from "./types.ts";

let tmp: { path: string; remove(): void };
beforeEach(() => {
  tmp = makeTempDir();
  writeFileSync(join(tmp.path, "params.yaml"), "train:\n  lr: 0.1\n  depth: 6\n");
});
afterEach(() => tmp.remove());

const dag = buildDag(
  parsePipelinesYaml(
    "pipelines:\n  p:\n    stages:\n      fit:\n        run: x\n        params: [train.lr, train.depth, {seed: 7}]\n",
  ).get("p") as PipelineSpec,
);

describe("resolveParams", () => {
  it("reads params-file keys and inline values, and applies typed overrides", async () => {
    const all = selectSteps(dag);
    expect((await resolveParams(dag, all, tmp.path)).get("fit")).toEqual({
      "train.lr": 0.1,
      "train.depth": 6,
      seed: 7,
    });
    const over = await resolveParams(dag, all, tmp.path, parseParamArgs(["train.lr=0.05", "seed=x"]));
    expect(over.get("fit")).toEqual({ "train.lr": 0.05, "train.depth": 6, seed: "x" });
  });

  it("names a missing key, a missing file, an unused override and a malformed --param", async () => {
    const all = selectSteps(dag);
    writeFileSync(join(tmp.path, "params.yaml"), "train:\n  lr: 0.1\n");
    await expect(resolveParams(dag, all, tmp.path)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining(
        'needs param "train.depth" but params.yaml has no such key',
      ) as unknown,
    });
    await expect(resolveParams(dag, all, tmp.path, { "train.depth": "3", typo: "1" })).rejects.toThrow(
      /--param typo: no selected step/,
    );
    await expect(resolveParams(dag, all, join(tmp.path, "nowhere"))).rejects.toThrow(
      /params.yaml, which does not exist/,
    );
    expect(() => parseParamArgs(["lr"])).toThrow(/must look like KEY=VALUE/);
  });
});
