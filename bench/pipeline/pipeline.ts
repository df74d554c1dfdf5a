// Pipeline benchmark: planning a 1,000-step DAG, a fully cached 100-step run, 8 one-second steps with --jobs 2.
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { definePipeline, step, type StepDefinition } from "../../src/pipeline/define.ts";
import { runPipeline } from "../../src/pipeline/executor.ts";
import { buildDag, planRun } from "../../src/pipeline/plan.ts";
import { pipelineDeps } from "../../src/pipeline/service.ts";
import { openWorkspace } from "../../src/workspace.ts";
import { peakRssMb, writeResults, type BenchResult } from "../common.ts";

/** Step i reads the outputs of steps i-1 and i/2: a DAG as deep as it is wide. */
function generated(n: number): Record<string, StepDefinition> {
  const steps: Record<string, StepDefinition> = {};
  for (let i = 0; i < n; i++) {
    const deps = i === 0 ? ["in.txt"] : [...new Set([`out/s${i - 1}.txt`, `out/s${Math.floor(i / 2)}.txt`])];
    steps[`s${i}`] = step({ run: `echo ${i} > out/s${i}.txt`, deps, outs: [`out/s${i}.txt`] });
  }
  return steps;
}

async function main(): Promise<void> {
  const results: BenchResult[] = [];
  const record = (r: BenchResult): void => {
    results.push(r);
    console.log(JSON.stringify(r));
  };

  const big = definePipeline({ name: "big", steps: generated(1000) });
  const t0 = performance.now();
  const dag = buildDag(big);
  planRun(dag, { externalIds: new Map([["in.txt", "0".repeat(64)]]), cached: () => undefined });
  const planSeconds = (performance.now() - t0) / 1000;
  record({
    name: "plan 1,000-step DAG",
    value: planSeconds,
    unit: "s",
    seconds: planSeconds,
    target: "≤ 1 s",
  });

  const dir = await mkdtemp(join(tmpdir(), "loopml-bench-pipeline-"));
  try {
    writeFileSync(join(dir, "in.txt"), "x\n");
    mkdirSync(join(dir, "out"));
    const ws = await openWorkspace({ dir });
    try {
      const hundred = definePipeline({ name: "hundred", steps: generated(100) });
      const deps = pipelineDeps(ws);
      let t = performance.now();
      const cold = await runPipeline(deps, hundred, { jobs: 2 });
      const coldSeconds = (performance.now() - t) / 1000;
      if (cold.status !== "succeeded") throw new Error("the 100-step pipeline failed");
      record({
        name: "100-step run, nothing cached (100 shell commands)",
        value: coldSeconds,
        unit: "s",
        seconds: coldSeconds,
      });
      t = performance.now();
      const warm = await runPipeline(deps, hundred, { jobs: 2 });
      const warmSeconds = (performance.now() - t) / 1000;
      if (warm.steps.some((s) => s.status !== "cached"))
        throw new Error("the second run was not fully cached");
      record({
        name: "100-step run, fully cached (overhead)",
        value: warmSeconds,
        unit: "s",
        seconds: warmSeconds,
        target: "≤ 2 s",
      });

      const sleepers = Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [
          `sleep${i}`,
          step({ run: `sleep 1; echo ${i} > out/z${i}.txt`, outs: [`out/z${i}.txt`] }),
        ]),
      );
      t = performance.now();
      const par = await runPipeline(deps, definePipeline({ name: "sleepers", steps: sleepers }), { jobs: 2 });
      const parSeconds = (performance.now() - t) / 1000;
      if (par.status !== "succeeded") throw new Error("the sleepers failed");
      record({
        name: "8 independent 1-second steps, --jobs 2",
        value: parSeconds,
        unit: "s",
        seconds: parSeconds,
        target: "≈ 4 s (not 8)",
      });
      // Reference: DVC runs stages one at a time (dvc#755); the same steps with --jobs 1 show that wall time.
      const seq = Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [
          `seq${i}`,
          step({ run: `sleep 1; echo ${i} > out/q${i}.txt`, outs: [`out/q${i}.txt`] }),
        ]),
      );
      t = performance.now();
      await runPipeline(deps, definePipeline({ name: "sequential", steps: seq }), { jobs: 1 });
      const seqSeconds = (performance.now() - t) / 1000;
      record({
        name: "reference: the same 8 steps one at a time (DVC-style sequential, --jobs 1)",
        value: seqSeconds,
        unit: "s",
        seconds: seqSeconds,
      });
    } finally {
      await ws.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // The machine is shared: the load average says how much of the wall time was waiting for a core.
  await writeResults("pipeline", { results, peakRssMb: peakRssMb(), loadAverage: loadavg() });
}

await main();
