import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { definePipeline, step } from "./define.ts";
import { planPipeline, runPipeline } from "./executor.ts";
import { withPipelineDeps } from "./service.ts";

let tmp: { path: string; remove(): void };
let alice: Workspace;
let bob: Workspace;
const remote = (): string => `file:${join(tmp.path, "shared")}`;

beforeEach(async () => {
  tmp = makeTempDir();
  for (const who of ["alice", "bob"]) {
    mkdirSync(join(tmp.path, who, "data"), { recursive: true });
    writeFileSync(join(tmp.path, who, "data", "raw.txt"), "b\na\nc\n");
  }
  alice = await openWorkspace({ dir: join(tmp.path, "alice") });
  bob = await openWorkspace({ dir: join(tmp.path, "bob") });
});
afterEach(async () => {
  await alice.close();
  await bob.close();
  tmp.remove();
});

const pipeline = definePipeline({
  name: "shared",
  steps: {
    // Appends to a file outside the project: proof of whether the command really ran.
    sort: step({
      run: `sort data/raw.txt > build/sorted.txt && mkdir -p build/parts && cp build/sorted.txt build/parts/a.txt && echo ran >> "$RUNS_LOG"`,
      deps: ["data/raw.txt"],
      outs: ["build/sorted.txt", "build/parts"],
    }),
  },
});

describe("remote step cache", () => {
  it("reuses a teammate's results from a shared folder, and a run without the remote does not", async () => {
    const log = join(tmp.path, "runs.log");
    const spec = { ...pipeline, steps: pipeline.steps.map((s) => ({ ...s, env: { RUNS_LOG: log } })) };
    const first = await withPipelineDeps(alice, { cacheRemote: remote() }, (d) => runPipeline(d, spec));
    expect(first.steps[0]?.status).toBe("succeeded");

    const plan = await withPipelineDeps(bob, { cacheRemote: remote() }, (d) => planPipeline(d, spec));
    expect(plan.plan[0]?.action).toBe("reuse");
    const second = await withPipelineDeps(bob, { cacheRemote: remote() }, (d) => runPipeline(d, spec));
    expect(second.steps[0]).toMatchObject({ status: "cached", cacheSource: "remote" });
    expect(readFileSync(join(tmp.path, "bob", "build", "parts", "a.txt"), "utf8")).toBe("a\nb\nc\n");
    expect(readFileSync(log, "utf8")).toBe("ran\n");
    // Imported: the next run hits bob's own cache without the remote.
    const third = await withPipelineDeps(bob, {}, (d) => runPipeline(d, spec));
    expect(third.steps[0]).toMatchObject({ status: "cached" });
    expect(third.steps[0]?.cacheSource).toBeUndefined();
  });

  it("refuses a remote that is not a folder URI, naming what works", async () => {
    const r = await withPipelineDeps(alice, { cacheRemote: "ftp://cache" }, (d) =>
      runPipeline(d, pipeline),
    ).catch((e: unknown) => e);
    expect(r).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringMatching(/use file:PATH/) as unknown,
    });
  });
});
