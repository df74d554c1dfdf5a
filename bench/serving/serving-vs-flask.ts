// Serving benchmark: loopml serve vs Flask+gunicorn and FastAPI+uvicorn (2 workers) on one XGBoost model, wrk on 127.0.0.1.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { writeResults } from "../common.ts";
import type { RegistryService } from "../../src/registry/service.ts";
import {
  DURATION,
  ensureSystemPackages,
  freePort,
  HERE,
  luaScript,
  pacedDelayMs,
  registryProject,
  ROOT,
  serveRegistry,
  stop,
  waitReady,
  wrk,
  wrkAsync,
  type WrkResult,
} from "./harness.ts";

interface ServerConfig {
  readonly name: string;
  readonly path: string;
  start(port: number, model: string): ChildProcess;
}

function python(app: string, model: string): NodeJS.ProcessEnv {
  return { ...process.env, BENCH_MODEL: model, BENCH_APP: app, PYTHONPATH: HERE, OMP_NUM_THREADS: "1" };
}

const CONFIGS: ServerConfig[] = [
  {
    name: "loopml (1 process)",
    path: "/v1/models/bench/predict",
    start: (port, model) =>
      spawn(
        process.execPath,
        [
          join(ROOT, "bin", "loopml.js"),
          "serve",
          `bench=${model}`,
          "--port",
          String(port),
          "--no-access-log",
        ],
        {
          stdio: "ignore",
        },
      ),
  },
  {
    name: "loopml (2 workers)",
    path: "/v1/models/bench/predict",
    start: (port, model) =>
      spawn(
        process.execPath,
        [
          join(ROOT, "bin", "loopml.js"),
          "serve",
          `bench=${model}`,
          "--port",
          String(port),
          "--no-access-log",
          "--workers",
          "2",
        ],
        { stdio: "ignore" },
      ),
  },
  {
    name: "flask+gunicorn (2 workers)",
    path: "/predict",
    start: (port, model) =>
      spawn(
        "gunicorn",
        ["-w", "2", "-b", `127.0.0.1:${port}`, "--log-level", "warning", "baseline_apps:flask_app"],
        {
          env: python("flask", model),
          cwd: HERE,
          stdio: "ignore",
        },
      ),
  },
  {
    name: "fastapi+uvicorn (2 workers, async def)",
    path: "/predict",
    start: (port, model) =>
      spawn(
        "/usr/bin/python3",
        [
          "-m",
          "uvicorn",
          "--workers",
          "2",
          "--host",
          "127.0.0.1",
          "--port",
          String(port),
          "--log-level",
          "warning",
          "--no-access-log",
          "baseline_apps:fastapi_app",
        ],
        {
          env: python("fastapi", model),
          cwd: HERE,
          stdio: "ignore",
        },
      ),
  },
  {
    name: "fastapi+uvicorn (2 workers, def)",
    path: "/predict",
    start: (port, model) =>
      spawn(
        "/usr/bin/python3",
        [
          "-m",
          "uvicorn",
          "--workers",
          "2",
          "--host",
          "127.0.0.1",
          "--port",
          String(port),
          "--log-level",
          "warning",
          "--no-access-log",
          "baseline_apps:fastapi_sync_app",
        ],
        {
          env: python("fastapi-sync", model),
          cwd: HERE,
          stdio: "ignore",
        },
      ),
  },
];

/**
 * Inference logging off and on, alternated twice so that load from other work hits both alike; then a
 * hot swap every 1.5 s under full load, and promtool on /metrics.
 */
async function registryRuns(dir: string, model: string, scripts: { single: string }, single: string) {
  const project = join(dir, "project");
  const { ws, registry } = await registryProject(project, model);
  try {
    const runs: Record<string, unknown> = {};
    const off: WrkResult[] = [];
    const on: WrkResult[] = [];
    for (const log of [false, true, false, true]) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/v1/models/bench@production/predict`;
      const child = serveRegistry(project, port, log);
      try {
        await waitReady(url, single, child);
        wrk(url, scripts.single, "2s");
        (log ? on : off).push(wrk(url, scripts.single, DURATION, child));
        if (!log || on.length < 2) continue;
        Object.assign(runs, await hotSwaps(dir, url, port, scripts.single, registry));
      } finally {
        await stop(child);
      }
    }
    runs["logOff"] = off;
    runs["logOn"] = on;
    const sum = (rs: WrkResult[], f: (r: WrkResult) => number): number => rs.reduce((a, r) => a + f(r), 0);
    runs["loggingThroughputDrop"] = 1 - sum(on, (r) => r.requestsPerSec) / sum(off, (r) => r.requestsPerSec);
    // CPU per request is what logging adds; throughput follows it on a quiet machine.
    runs["loggingCpuPerRequestIncrease"] =
      sum(on, (r) => r.serverCpuUsPerRequest ?? NaN) / sum(off, (r) => r.serverCpuUsPerRequest ?? NaN) - 1;
    return runs;
  } finally {
    await ws.close();
  }
}

/** Another process (this one) moves the alias back and forth under full load; then /metrics is checked. */
async function hotSwaps(
  dir: string,
  url: string,
  port: number,
  script: string,
  registry: RegistryService,
): Promise<Record<string, unknown>> {
  const load = wrkAsync(url, script);
  let moves = 0;
  const started = Date.now();
  while (Date.now() - started < 8500) {
    await sleep(1500);
    await registry.setAlias("bench", "production", moves % 2 === 0 ? 2 : 1);
    moves++;
  }
  const underSwap = await load;
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const swaps = Number(
    /loopml_serving_model_swaps_total\{model="bench",role="primary"\} (\d+)/.exec(metrics)?.[1] ?? 0,
  );
  writeFileSync(join(dir, "metrics.txt"), metrics);
  const promtool = spawnSync("sh", ["-c", `promtool check metrics < ${join(dir, "metrics.txt")}`], {
    encoding: "utf8",
  });
  const logged = /loopml_serving_inference_log_rows_total\{model="bench",outcome="(\w+)"\} (\d+)/g;
  return {
    hotSwapUnderLoad: {
      ...underSwap,
      aliasMoves: moves,
      swapsSeen: swaps,
      errors: underSwap.non2xx + underSwap.socketErrors,
    },
    promtool: { exitCode: promtool.status, output: `${promtool.stdout}${promtool.stderr}`.trim() },
    inferenceLogRows: Object.fromEntries([...metrics.matchAll(logged)].map((m) => [m[1], Number(m[2])])),
  };
}

function cpuRatio(flask: WrkResult | undefined, loopml: WrkResult | undefined): number | null {
  const f = flask?.serverCpuUsPerRequest;
  const l = loopml?.serverCpuUsPerRequest;
  return f !== undefined && l !== undefined && l > 0 ? f / l : null;
}

async function main(): Promise<void> {
  ensureSystemPackages();
  // Other engineers' processes share these 2 cores: the load average says how quiet the machine was.
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), "loopml-bench-serving-"));
  try {
    const made = spawnSync("/usr/bin/python3", [join(HERE, "make_model.py"), dir], { stdio: "inherit" });
    if (made.status !== 0) throw new Error("make_model.py failed");
    const model = join(dir, "m.json");
    const { rows } = JSON.parse(readFileSync(join(dir, "rows.json"), "utf8")) as {
      rows: (number | null)[][];
    };
    const single = JSON.stringify({ instances: [rows[0]] });
    const batch = JSON.stringify({ instances: rows });
    const scripts = { single: luaScript(dir, "single", single), batch: luaScript(dir, "batch", batch) };
    const results: Record<string, unknown>[] = [];
    for (const config of CONFIGS) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}${config.path}`;
      const child = config.start(port, model);
      try {
        await waitReady(url, single, child);
        wrk(url, scripts.single, "2s");
        const one = wrk(url, scripts.single, DURATION, child);
        const hundred = wrk(url, scripts.batch, DURATION, child);
        const entry: Record<string, unknown> = {
          server: config.name,
          single: one,
          batch100: { ...hundred, rowsPerSec: hundred.requestsPerSec * 100 },
        };
        if (config.name.startsWith("loopml")) {
          const delay = pacedDelayMs(url, dir, single, one.requestsPerSec);
          const at80 = wrk(url, luaScript(dir, "paced", single, delay), DURATION, child);
          entry.singleAt80PercentOfPeak = {
            ...at80,
            delayMs: delay,
            fractionOfPeak: at80.requestsPerSec / one.requestsPerSec,
          };
        }
        results.push(entry);
        console.log(JSON.stringify(entry));
      } finally {
        await stop(child);
      }
    }
    const registryServing = await registryRuns(dir, model, scripts, single);
    console.log(JSON.stringify({ registryServing }));
    const get = (name: string): Record<string, WrkResult> =>
      results.find((r) => r.server === name) as unknown as Record<string, WrkResult>;
    const flask = get("flask+gunicorn (2 workers)");
    const fastapiBest = Math.max(
      ...results
        .filter((r) => String(r.server).startsWith("fastapi"))
        .map((r) => (r.single as WrkResult).requestsPerSec),
    );
    const summary = ["loopml (1 process)", "loopml (2 workers)"].map((name) => {
      const l = get(name);
      const singleRps = l.single?.requestsPerSec ?? 0;
      return {
        server: name,
        singleVsFlask: singleRps / (flask.single?.requestsPerSec ?? NaN),
        singleVsBestFastapi: singleRps / fastapiBest,
        batchRowsVsFlask: (l.batch100?.requestsPerSec ?? 0) / (flask.batch100?.requestsPerSec ?? NaN),
        p99AtEightyPercentMs: l.singleAt80PercentOfPeak?.p99Ms,
        // Server CPU per request, Flask's over loopml's: what the ratios would be if both had the cores to themselves.
        singleCpuVsFlask: cpuRatio(flask.single, l.single),
        batchCpuVsFlask: cpuRatio(flask.batch100, l.batch100),
      };
    });
    await writeResults("serving", {
      setup:
        "wrk -t2 -c32 -d10s --latency on 127.0.0.1, same 2 cores for server and load; model: XGBoost binary:logistic, 100 trees, depth 6, 28 features; loopml access log off. serverCpuUsPerRequest: user+system CPU of the server's processes (from /proc) over the requests wrk completed. registryServing: loopml serve bench@production from a project registry (1 process), inference log off, on, off, on (sample rate 1), then the alias moved every 1.5 s by another process under full load; promtool check metrics on /metrics afterwards. Soak: npx tsx bench/serving/soak.ts (bench/results/serving-soak.json)",
      targets: {
        singleVsFlask: ">= 10",
        singleVsBestFastapi: ">= 8",
        batchRowsVsFlask: ">= 5",
        p99AtEightyPercentMs: "<= 5",
        loggingThroughputDrop: "<= 0.15",
        hotSwapErrors: "0",
      },
      registryServing,
      loadAverage: { before: loadBefore, after: loadavg() },
      results,
      summary,
    });
    console.log(JSON.stringify({ summary }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
