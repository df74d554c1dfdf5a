import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import { parsePipelinesYaml } from "./parse.ts";
import { buildDag, planRun, stepCacheKey } from "./plan.ts";
import type { OutputRef, PipelineSpec, StepSpec } from "./types.ts";

function step(name: string, deps: string[], outs: string[], run = `make ${name}`): StepSpec {
  return {
    name,
    run,
    deps: deps.map((p) => ({ kind: "path", path: p })),
    params: [],
    outs,
    env: {},
    retries: 0,
  };
}

function catchError(fn: () => unknown): { code: string; message: string; details?: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    if (isLoopmlError(e))
      return { code: e.code, message: e.message, ...(e.details && { details: { ...e.details } }) };
    throw e;
  }
  throw new Error("expected an error");
}

const spec: PipelineSpec = {
  name: "p",
  steps: [
    step("train", ["build/clean.csv"], ["build/model.json"]),
    step("prepare", ["data/raw.csv"], ["build/clean.csv"]),
    step("report", ["build/model.json", "build/clean.csv"], ["report"]),
  ],
};

describe("buildDag", () => {
  it("orders steps upstream first and links outputs to the steps reading them", () => {
    const dag = buildDag(spec);
    expect(dag.order).toEqual(["prepare", "train", "report"]);
    expect([...(dag.steps.get("report")?.upstream ?? [])].sort()).toEqual(["prepare", "train"]);
    expect(dag.steps.get("prepare")?.deps).toEqual([{ kind: "external", path: "data/raw.csv" }]);
  });

  it("names the steps of a cycle", () => {
    const err = catchError(() =>
      buildDag({
        name: "c",
        steps: [step("a", ["y"], ["x"]), step("b", ["x"], ["y"]), step("c", ["y"], ["z"])],
      }),
    );
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toMatch(/cycle: (a → b → a|b → a → b)/);
  });

  it("rejects two steps writing the same output, or nested outputs", () => {
    const same = catchError(() =>
      buildDag({ name: "d", steps: [step("a", [], ["out"]), step("b", [], ["out"])] }),
    );
    expect(same.message).toContain('written by both step "a" and step "b"');
    const nested = catchError(() =>
      buildDag({ name: "d", steps: [step("a", [], ["out"]), step("b", [], ["out/x"])] }),
    );
    expect(nested.details?.["steps"]).toEqual(["a", "b"]);
  });

  it("rejects a step reading its own output", () => {
    expect(catchError(() => buildDag({ name: "s", steps: [step("a", ["o"], ["o"])] })).message).toMatch(
      /"a" reads its own output/,
    );
  });

  it("links a path inside an output folder and a folder holding outputs", () => {
    const dag = buildDag({
      name: "f",
      steps: [
        step("a", [], ["build/feat"]),
        step("b", ["build/feat/x.csv"], ["m"]),
        step("c", ["build"], ["n"]),
      ],
    });
    expect(dag.steps.get("b")?.upstream).toEqual(["a"]);
    expect(dag.steps.get("c")?.deps[0]).toEqual({ kind: "derived", path: "build", steps: ["a"] });
  });

  it("gives the same version to the same definition and a new one when a command changes", () => {
    const v1 = buildDag(spec).version;
    expect(buildDag(structuredClone(spec)).version).toBe(v1);
    const changed = {
      ...spec,
      steps: [
        step("train", ["build/clean.csv"], ["build/model.json"], "make train2"),
        ...spec.steps.slice(1),
      ],
    };
    expect(buildDag(changed).version).not.toBe(v1);
  });
});

describe("planRun", () => {
  const raw = "a".repeat(64);
  const externalIds = new Map([["data/raw.csv", raw]]);

  it("runs everything on an empty cache; downstream keys wait for upstream outputs", () => {
    const plan = planRun(buildDag(spec), { externalIds, cached: () => undefined });
    expect(plan.map((s) => [s.name, s.action])).toEqual([
      ["prepare", "run"],
      ["train", "run"],
      ["report", "run"],
    ]);
    expect(plan[0]?.key).toMatch(/^[0-9a-f]{64}$/);
    expect(plan[1]?.key).toBeUndefined();
  });

  it("reuses cached steps and keys downstream steps by their inputs' content", () => {
    const cache = new Map<string, OutputRef[]>();
    const prepareKey = stepCacheKey(spec.steps[1] as StepSpec, {}, [raw]);
    cache.set(prepareKey, [{ path: "build/clean.csv", kind: "file", id: "c".repeat(64) }]);
    const plan = planRun(buildDag(spec), { externalIds, cached: (k) => cache.get(k) });
    expect(plan[0]).toMatchObject({ name: "prepare", action: "reuse", key: prepareKey });
    expect(plan[1]).toMatchObject({ name: "train", action: "run", inputIds: ["c".repeat(64)] });
    expect(plan[1]?.key).toBe(stepCacheKey(spec.steps[0] as StepSpec, {}, ["c".repeat(64)]));
  });

  it("keys by content, params and command, never by step name", () => {
    const a = step("a", ["x"], ["o"]);
    const renamed = { ...a, name: "renamed" };
    expect(stepCacheKey(a, {}, [raw])).toBe(stepCacheKey(renamed, {}, [raw]));
    expect(stepCacheKey(a, {}, [raw])).not.toBe(stepCacheKey(a, {}, ["b".repeat(64)]));
    expect(stepCacheKey(a, { lr: 0.1 }, [])).not.toBe(stepCacheKey(a, { lr: 0.2 }, []));
    expect(stepCacheKey(a, {}, [raw])).not.toBe(stepCacheKey({ ...a, run: "other" }, {}, [raw]));
  });

  it("names missing inputs, honours --step and --force", () => {
    const missing = catchError(() =>
      planRun(buildDag(spec), { externalIds: new Map(), cached: () => undefined }),
    );
    expect(missing.message).toContain('"data/raw.csv" (step "prepare")');
    const cachedAll = (): OutputRef[] => [{ path: "build/clean.csv", kind: "file", id: "c".repeat(64) }];
    const plan = planRun(buildDag(spec), {
      externalIds,
      cached: cachedAll,
      targets: ["train"],
      force: ["prepare"],
    });
    expect(plan.map((s) => [s.name, s.action, s.reason])).toEqual([
      ["prepare", "run", "forced"],
      ["train", "run", "an input is produced by a step that runs first"],
      ["report", "skip", "not selected"],
    ]);
    expect(
      catchError(() => planRun(buildDag(spec), { externalIds, cached: cachedAll, targets: ["nope"] }))
        .message,
    ).toMatch(/no step "nope"/);
  });

  it("plans a generated 1,000-step DAG in under a second", () => {
    const steps: StepSpec[] = [];
    for (let i = 0; i < 1000; i++) {
      const deps = i === 0 ? ["data/in.csv"] : [`out/s${Math.floor(i / 2)}.csv`, `out/s${i - 1}.csv`];
      steps.push(step(`s${i}`, [...new Set(deps)], [`out/s${i}.csv`]));
    }
    const t0 = performance.now();
    const dag = buildDag({ name: "big", steps });
    const plan = planRun(dag, { externalIds: new Map([["data/in.csv", raw]]), cached: () => undefined });
    const ms = performance.now() - t0;
    expect(plan).toHaveLength(1000);
    expect(dag.order[999]).toBe("s999");
    expect(ms).toBeLessThan(1000);
  });
});

describe("parsePipelinesYaml", () => {
  it("accepts the scaffold's pipeline and the full stage vocabulary", () => {
    const text = `project: demo
pipelines:
  train:
    stages:
      prepare:
        run: node scripts/prepare.js data/sample.csv build/prepared.csv
        deps: [data/sample.csv, scripts/prepare.js, "dataset:flights@3"]
        outs: [build/prepared.csv]
      fit:
        run: python fit.py
        deps: [build/prepared.csv, dataset:flights@latest]
        params: [train.lr, {other.yaml: [depth]}, {seed: 7}]
        outs: [./build/model/]
        metrics: build/metrics.json
        env: {THREADS: 2}
        timeout: 10m
        retries: 2
        resources: {cpu: 2, memory: 4Gi}
`;
    const p = parsePipelinesYaml(text).get("train");
    expect(p?.steps.map((s) => s.name)).toEqual(["prepare", "fit"]);
    const fit = p?.steps[1];
    expect(fit).toMatchObject({
      outs: ["build/model"],
      metrics: "build/metrics.json",
      env: { THREADS: "2" },
      timeoutMs: 600_000,
      retries: 2,
      params: [
        { kind: "file", key: "train.lr", file: "params.yaml" },
        { kind: "file", key: "depth", file: "other.yaml" },
        { kind: "value", key: "seed", value: 7 },
      ],
    });
    expect(p?.steps[0]?.deps[2]).toEqual({ kind: "dataset", name: "flights", version: 3 });
    expect(fit?.deps[1]).toEqual({ kind: "dataset", name: "flights", version: "latest" });
  });

  it.each([
    [
      "unknown key",
      "      cmdx: x\n      run: y\n",
      /loopml.yaml:5 pipelines.p.stages.a.cmdx: unknown key "cmdx"/,
    ],
    ["missing run", "      deps: [a]\n", /loopml.yaml:5 pipelines.p.stages.a.run: needs "run:"/],
    [
      "escaping out",
      "      run: x\n      outs: [../etc]\n",
      /loopml.yaml:6 pipelines.p.stages.a.outs\[0\]: "..\/etc" must be a relative path/,
    ],
    [
      "bad dataset",
      "      run: x\n      deps: [dataset:x@v1]\n",
      /:6 .*deps\[0\]: "dataset:x@v1" must look like/,
    ],
    ["bad timeout", "      run: x\n      timeout: soon\n", /:6 .*timeout: must be a duration/],
  ])("names the line and key of a mistake: %s", (_name, stage, pattern) => {
    const text = `pipelines:\n  p:\n    stages:\n      a:\n${stage.replace(/^ {6}/gm, "        ")}`;
    const err = catchError(() => parsePipelinesYaml(text));
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toMatch(pattern);
  });
});
