// Serving soak: loopml serve at 80% of its own peak with the inference log on (and pruned) for a while: RSS over time, p99 per interval, errors.
// Usage: npx tsx bench/serving/soak.ts [DURATION]   (default 5m; e.g. 90s, 10m; or BENCH_SOAK=…) → bench/results/serving-soak.json
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { writeResults } from "../common.ts";
import {
  ensureSystemPackages,
  freePort,
  HERE,
  luaScript,
  pacedDelayMs,
  processTreeCpuSeconds,
  processTreeRssMb,
  registryProject,
  serveRegistry,
  stop,
  waitReady,
  wrk,
  wrkAsync,
} from "./harness.ts";

const INTERVAL_S = 30;
const RSS_EVERY_MS = 2000;
/** Pruning during the soak keeps the log (on disk) bounded too, and exercises retention under load. */
const LOG_MAX_ROWS = 500_000;

function seconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`soak duration "${text}" is not like 90s, 5m or 1h`);
  return Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
}

interface Interval {
  readonly endS: number;
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly serverCpuUsPerRequest: number;
  readonly rssMb: { readonly min: number; readonly max: number };
}

async function main(): Promise<void> {
  const durationS = seconds(process.argv[2] ?? process.env.BENCH_SOAK ?? "5m");
  ensureSystemPackages();
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), "loopml-bench-soak-"));
  const project = join(dir, "project");
  try {
    const made = spawnSync("/usr/bin/python3", [join(HERE, "make_model.py"), dir], { stdio: "inherit" });
    if (made.status !== 0) throw new Error("make_model.py failed");
    const { rows } = JSON.parse(readFileSync(join(dir, "rows.json"), "utf8")) as { rows: unknown[] };
    const single = JSON.stringify({ instances: [rows[0]] });
    const { ws } = await registryProject(project, join(dir, "m.json"));
    await ws.close();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v1/models/bench@production/predict`;
    const child = serveRegistry(project, port, true, [
      "--log-max-rows",
      String(LOG_MAX_ROWS),
      "--log-prune-ms",
      "30000",
    ]);
    try {
      await waitReady(url, single, child);
      const pid = child.pid as number;
      wrk(url, luaScript(dir, "single", single), "2s");
      const peak = wrk(url, luaScript(dir, "single", single), "5s", child);
      const delayMs = pacedDelayMs(url, dir, single, peak.requestsPerSec);
      const paced = luaScript(dir, "paced", single, delayMs);
      const intervals: Interval[] = [];
      const started = Date.now();
      for (let done = 0; done < durationS; done += INTERVAL_S) {
        const length = Math.min(INTERVAL_S, durationS - done);
        const cpuBefore = processTreeCpuSeconds(pid);
        const run = wrkAsync(url, paced, `${length}s`);
        const rss: number[] = [];
        let finished = false;
        void run.then(() => (finished = true));
        while (!finished) {
          rss.push(processTreeRssMb(pid));
          await Promise.race([sleep(RSS_EVERY_MS), run]);
        }
        const r = await run;
        const interval: Interval = {
          endS: Math.round((Date.now() - started) / 1000),
          requestsPerSec: r.requestsPerSec,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          errors: r.non2xx + r.socketErrors,
          serverCpuUsPerRequest: Math.round(
            ((processTreeCpuSeconds(pid) - cpuBefore) * 1e6) / Math.max(r.requests, 1),
          ),
          rssMb: { min: Math.min(...rss), max: Math.max(...rss) },
        };
        intervals.push(interval);
        console.log(JSON.stringify(interval));
      }
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const logged = /loopml_serving_inference_log_rows_total\{model="bench",outcome="(\w+)"\} (\d+)/g;
      const summary = summarise(intervals);
      await writeResults("serving-soak", {
        setup: `loopml serve bench@production (1 process, inference log on at sample rate 1, --log-max-rows ${LOG_MAX_ROWS} pruned every 30 s), wrk -t2 -c32 paced to 80% of the peak measured first (${peak.requestsPerSec} req/s, delay ${delayMs.toFixed(2)} ms per request and connection), ${durationS} s in ${INTERVAL_S} s intervals; RSS of the server sampled every ${RSS_EVERY_MS / 1000} s; the first interval is warm-up`,
        targets: { rssFlat: "within ±10% of the median after warm-up", errors: "0", p99Ms: "<= 5" },
        durationS,
        peak,
        delayMs,
        loadAverage: { before: loadBefore, after: loadavg() },
        inferenceLogRows: Object.fromEntries([...metrics.matchAll(logged)].map((m) => [m[1], Number(m[2])])),
        summary,
        intervals,
      });
      console.log(JSON.stringify({ summary }));
    } finally {
      await stop(child);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function summarise(intervals: readonly Interval[]): Record<string, unknown> {
  const after = intervals.length > 1 ? intervals.slice(1) : intervals;
  const samples = after.flatMap((i) => [i.rssMb.min, i.rssMb.max]).sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)] ?? NaN;
  const lowest = samples[0] ?? NaN;
  const highest = samples[samples.length - 1] ?? NaN;
  const p99s = after.map((i) => i.p99Ms).sort((a, b) => a - b);
  return {
    rssMedianMb: median,
    rssMinMb: lowest,
    rssMaxMb: highest,
    rssMaxDeviation: Math.max(highest / median - 1, 1 - lowest / median),
    rssFlat: highest <= median * 1.1 && lowest >= median * 0.9,
    errors: intervals.reduce((s, i) => s + i.errors, 0),
    p99MsMedianOfIntervals: p99s[Math.floor(p99s.length / 2)],
    p99MsWorstInterval: p99s[p99s.length - 1],
  };
}

await main();
