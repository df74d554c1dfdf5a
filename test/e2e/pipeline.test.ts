// Pipelines through the CLI: the scaffold's pipeline, dry run, cached re-run, lineage, failures and bad input.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDataService } from "../../src/data/service.ts";
import { projectScaffold } from "../../src/deploy/scaffold.ts";
import { openWorkspace } from "../../src/workspace.ts";
import { startRedis } from "../setup/redis.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { loopml } from "./cli.ts";

let tmp: { path: string; remove(): void };
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.remove());

interface DryRun {
  version: string;
  steps: { name: string; action: string; key: string | null }[];
}
interface RunJson {
  runId: string;
  status: string;
  steps: { step: string; status: string; cacheKey?: string }[];
}

describe("loopml run", () => {
  it("runs the scaffold's pipeline, reuses it, shows the plan and the lineage", () => {
    // The files `loopml init` writes, without paying for another CLI start.
    const cwd = join(tmp.path, "proj");
    for (const f of projectScaffold("proj")) {
      mkdirSync(dirname(join(cwd, f.path)), { recursive: true });
      writeFileSync(join(cwd, f.path), f.content);
    }
    const yaml = readFileSync(join(cwd, "loopml.yaml"), "utf8");
    writeFileSync(
      join(cwd, "loopml.yaml"),
      `${yaml}      count:
        run: wc -l < build/prepared.csv > build/count.txt
        deps: [build/prepared.csv]
        outs: [build/count.txt]
`,
    );

    const dry = loopml(["run", "train", "--dry-run", "--json"], { cwd });
    expect(dry.status).toBe(0);
    const plan = JSON.parse(dry.stdout) as DryRun;
    expect(plan.steps.map((s) => [s.name, s.action])).toEqual([
      ["prepare", "run"],
      ["count", "run"],
    ]);

    const first = loopml(["run", "train", "--json"], { cwd });
    expect(first.status).toBe(0);
    const run1 = JSON.parse(first.stdout) as RunJson;
    expect(run1.steps.map((s) => s.status)).toEqual(["succeeded", "succeeded"]);
    expect(run1.steps[0]?.cacheKey).toBe(plan.steps[0]?.key);
    expect(readFileSync(join(cwd, "build", "count.txt"), "utf8").trim()).toBe("7");

    const second = loopml(["run", "train"], { cwd });
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/↺ prepare {2}reused from cache/);
    expect(second.stdout).toMatch(/0 ran, 2 reused, 0 failed, 0 skipped/);

    const lineage = loopml(["pipeline", "lineage", run1.runId, "--output", "build/count.txt", "--json"], {
      cwd,
    });
    expect(lineage.status).toBe(0);
    const trace = JSON.parse(lineage.stdout) as { steps: string[]; sources: { dep: string }[] };
    expect(trace.steps).toEqual(["count", "prepare"]);
    expect(trace.sources.map((s) => s.dep).sort()).toEqual(["data/sample.csv", "scripts/prepare.js"]);
  });

  it("exits 1 with the failing step's stderr, and 2 with the line of a mistake in loopml.yaml or a cron", () => {
    writeFileSync(
      join(tmp.path, "loopml.yaml"),
      `pipelines:
  p:
    stages:
      boom:
        run: echo "no model today" >&2; exit 4
`,
    );
    const failed = loopml(["run", "p"], { cwd: tmp.path });
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/✗ boom {2}failed[\s\S]*exited with 4[\s\S]*no model today/);

    writeFileSync(
      join(tmp.path, "loopml.yaml"),
      "pipelines:\n  p:\n    stages:\n      a:\n        run: x\n        outz: [y]\n",
    );
    const bad = loopml(["run", "p", "--json"], { cwd: tmp.path });
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stderr)).toMatchObject({ error: { code: "INVALID_ARGUMENT" } });
    expect(bad.stderr).toContain("loopml.yaml:6 pipelines.p.stages.a.outz: unknown key");

    writeFileSync(join(tmp.path, "loopml.yaml"), "pipelines:\n  p:\n    stages:\n      a:\n        run: x\n");
    const missing = loopml(["run", "nope"], { cwd: tmp.path });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/No pipeline "nope" in loopml.yaml \(pipelines: p\)/);

    writeFileSync(
      join(tmp.path, "loopml.yaml"),
      'pipelines:\n  p:\n    stages:\n      a:\n        run: x\nschedules:\n  s:\n    pipeline: p\n    cron: "0 2 * *"\n',
    );
    const cron = loopml(["scheduler", "--once"], { cwd: tmp.path });
    expect(cron.status).toBe(2);
    expect(cron.stderr).toMatch(/loopml.yaml:9 schedules.s.cron: Cron "0 2 \* \*" has 4 fields/);
  });

  it("runs lineage: from a tracked step run back through the DAG to the dataset version", async () => {
    const cwd = tmp.path;
    mkdirSync(join(cwd, "data"));
    writeFileSync(join(cwd, "data", "rows.csv"), "x\n1\n2\n3\n");
    const ws = await openWorkspace({ dir: cwd });
    const { version } = await createDataService(ws).add("data/rows.csv", { name: "rows" });
    await ws.close();
    writeFileSync(
      join(cwd, "loopml.yaml"),
      `pipelines:
  p:
    stages:
      copy:
        run: cp data/rows.csv build/rows.csv
        deps: ["dataset:rows@latest"]
        outs: [build/rows.csv]
      count:
        run: wc -l < build/rows.csv > build/n.txt
        deps: [build/rows.csv]
        outs: [build/n.txt]
`,
    );
    const run = loopml(["run", "p", "--json"], { cwd });
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as {
      runId: string;
      trackingRunId: string;
      steps: { step: string; trackingRunId: string }[];
    };
    const countRun = result.steps.find((s) => s.step === "count")?.trackingRunId as string;
    const out = loopml(["runs", "lineage", countRun, "--json"], { cwd });
    expect(out.status).toBe(0);
    const lineage = JSON.parse(out.stdout) as {
      runId: string;
      traces: { output: { path: string }; steps: string[]; sources: { dep: string; id: string }[] }[];
    };
    expect(lineage.runId).toBe(result.runId);
    const n = lineage.traces.find((t) => t.output.path === "build/n.txt");
    expect(n?.steps).toEqual(["count", "copy"]);
    expect(n?.sources).toEqual([{ dep: "dataset:rows@latest", id: version.id }]);
    const human = loopml(["runs", "lineage", result.trackingRunId, "--output", "build/n.txt"], { cwd });
    expect(human.stdout).toContain(`dataset rows@latest version ${version.id.slice(0, 12)}`);
    const unknown = loopml(["runs", "lineage", "nope"], { cwd });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/No pipeline run or tracked run "nope"/);
  });

  it("LOOPML_QUEUE: loopml run hands a shell step and a built-in (uses: drift-check) to a loopml worker", async () => {
    const cwd = tmp.path;
    mkdirSync(join(cwd, "data"));
    const rows = (shift: number): string =>
      `a,b\n${Array.from({ length: 200 }, (_, i) => `${(i % 50) + shift},${i % 7}`).join("\n")}\n`;
    writeFileSync(join(cwd, "data", "jan.csv"), rows(0));
    writeFileSync(join(cwd, "data", "jun.csv"), rows(40));
    writeFileSync(
      join(cwd, "loopml.yaml"),
      `pipelines:
  p:
    stages:
      copy:
        run: cp data/jun.csv build/current.csv && echo "on $(hostname)"
        deps: [data/jun.csv]
        outs: [build/current.csv]
      drift:
        uses: drift-check
        with: { reference: data/jan.csv, current: build/current.csv }
`,
    );
    const redis = await startRedis();
    const env = { LOOPML_QUEUE: redis.url };
    const worker = spawn(
      process.execPath,
      [join(import.meta.dirname, "..", "..", "bin", "loopml.js"), "worker"],
      {
        cwd,
        env: { ...process.env, ...env, LOOPML_STORE: undefined, LOOPML_ARTIFACTS: undefined },
      },
    );
    const exited = new Promise((res) => worker.on("exit", res));
    let out = "";
    worker.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    try {
      const run = await new Promise<{ status: number | null; stdout: string }>((res) => {
        const c = spawn(
          process.execPath,
          [join(import.meta.dirname, "..", "..", "bin", "loopml.js"), "run", "p", "--json"],
          {
            cwd,
            env: { ...process.env, ...env, LOOPML_STORE: undefined, LOOPML_ARTIFACTS: undefined },
          },
        );
        let stdout = "";
        c.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
        c.on("exit", (status) => res({ status, stdout }));
      });
      expect(run.status).toBe(0);
      const result = JSON.parse(run.stdout) as {
        steps: { step: string; status: string; metrics: Record<string, number> }[];
      };
      expect(result.steps.map((s) => [s.step, s.status])).toEqual([
        ["copy", "succeeded"],
        ["drift", "succeeded"],
      ]);
      expect(result.steps[1]?.metrics["drifted"]).toBe(1);
      expect(JSON.parse(readFileSync(join(cwd, "build", "drift", "drift.json"), "utf8"))).toMatchObject({
        dataset: { drifted: true },
      });
      expect(out).toMatch(/✓ copy \(run .*attempt 1\)/);
      expect(out).toMatch(/✓ drift \(run .*attempt 1\)/);
    } finally {
      worker.kill("SIGTERM");
      await exited;
      await redis.stop();
    }
  });
});
