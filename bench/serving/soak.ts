// Serving soak: loopml serve at 80% of its own peak with the inference log on (and pruned) for a while: RSS and JS heap over time, p99 per interval, errors.
// Usage: npx tsx bench/serving/soak.ts [DURATION]   (default 5m; e.g. 90s, 10m; or BENCH_SOAK=…) → bench/results/serving-soak.json
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
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
import { memoryVerdict, p99Verdict, type MemorySample } from "./soak-verdict.ts";

const RSS_EVERY_MS = 2000;
/** Pruning during the soak keeps the log (on disk) bounded too, and exercises retention under load. */
const LOG_MAX_ROWS = 500_000;

function seconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`soak duration "${text}" is not like 90s, 5m or 1h`);
  return Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
}

/** 30 s intervals, shorter in a short soak so that it still has several to compare. */
function intervalSeconds(durationS: number): number {
  return Math.min(30, Math.max(10, Math.round(durationS / 10)));
}

/** Warm-up (JIT, caches, the inference log's first batches, allocator growth): about 20% of the run, at most 120 s, whole intervals. */
function warmupSeconds(durationS: number, intervalS: number): number {
  return intervalS * Math.max(1, Math.round(Math.min(120, durationS * 0.2) / intervalS));
}

interface Interval {
  readonly endS: number;
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly serverCpuUsPerRequest: number;
  readonly rssMb: { readonly min: number; readonly max: number };
  readonly heapUsedMb: number;
}

/**
 * The server's JS heap in use, from a Node diagnostic report it writes on SIGUSR2 (the server exposes no heap
 * metric). Taken between intervals, while wrk is not running, so the report's pause never lands in a latency.
 */
async function heapUsedMb(pid: number, reportDir: string): Promise<number> {
  process.kill(pid, "SIGUSR2");
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    const file = readdirSync(reportDir).find((f) => f.endsWith(".json"));
    if (!file) continue;
    try {
      const report = JSON.parse(readFileSync(join(reportDir, file), "utf8")) as {
        javascriptHeap: { usedMemory: number };
      };
      rmSync(join(reportDir, file));
      return report.javascriptHeap.usedMemory / 2 ** 20;
    } catch {
      // still being written
    }
  }
  throw new Error("the server wrote no diagnostic report within 5 s");
}

async function main(): Promise<void> {
  const durationS = seconds(process.argv[2] ?? process.env.BENCH_SOAK ?? "5m");
  const intervalS = intervalSeconds(durationS);
  const warmupS = warmupSeconds(durationS, intervalS);
  ensureSystemPackages();
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), "loopml-bench-soak-"));
  const project = join(dir, "project");
  const reportDir = join(dir, "reports");
  mkdirSync(reportDir);
  try {
    const made = spawnSync("/usr/bin/python3", [join(HERE, "make_model.py"), dir], { stdio: "inherit" });
    if (made.status !== 0) throw new Error("make_model.py failed");
    const { rows } = JSON.parse(readFileSync(join(dir, "rows.json"), "utf8")) as { rows: unknown[] };
    const single = JSON.stringify({ instances: [rows[0]] });
    const { ws } = await registryProject(project, join(dir, "m.json"));
    await ws.close();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v1/models/bench@production/predict`;
    const nodeOptions = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = `${nodeOptions ?? ""} --report-on-signal --report-signal=SIGUSR2 --report-directory=${reportDir}`;
    const child = serveRegistry(project, port, true, [
      "--log-max-rows",
      String(LOG_MAX_ROWS),
      "--log-prune-ms",
      "30000",
    ]);
    if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = nodeOptions;
    try {
      await waitReady(url, single, child);
      const pid = child.pid as number;
      wrk(url, luaScript(dir, "single", single), "2s");
      const peak = wrk(url, luaScript(dir, "single", single), "5s", child);
      const delayMs = pacedDelayMs(url, dir, single, peak.requestsPerSec);
      const paced = luaScript(dir, "paced", single, delayMs);
      const intervals: Interval[] = [];
      const rssSamples: MemorySample[] = [];
      const heapSamples: MemorySample[] = [];
      const started = Date.now();
      const sinceStart = () => (Date.now() - started) / 1000;
      const warmupIntervals = warmupS / intervalS;
      let warmupEndS = 0;
      for (let done = 0; done < durationS; done += intervalS) {
        const length = Math.min(intervalS, durationS - done);
        const cpuBefore = processTreeCpuSeconds(pid);
        const run = wrkAsync(url, paced, `${length}s`);
        const rss: number[] = [];
        let finished = false;
        void run.then(() => (finished = true));
        while (!finished) {
          const mb = processTreeRssMb(pid);
          rss.push(mb);
          rssSamples.push({ tS: sinceStart(), mb });
          await Promise.race([sleep(RSS_EVERY_MS), run]);
        }
        const r = await run;
        const cpuS = processTreeCpuSeconds(pid) - cpuBefore;
        const heapMb = await heapUsedMb(pid, reportDir);
        heapSamples.push({ tS: sinceStart(), mb: heapMb });
        const interval: Interval = {
          endS: Math.round(sinceStart()),
          requestsPerSec: r.requestsPerSec,
          p50Ms: r.p50Ms,
          p99Ms: r.p99Ms,
          errors: r.non2xx + r.socketErrors,
          serverCpuUsPerRequest: Math.round((cpuS * 1e6) / Math.max(r.requests, 1)),
          rssMb: { min: Math.min(...rss), max: Math.max(...rss) },
          heapUsedMb: Math.round(heapMb * 10) / 10,
        };
        intervals.push(interval);
        if (intervals.length === warmupIntervals) warmupEndS = sinceStart();
        console.log(JSON.stringify(interval));
      }
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const logged = /loopml_serving_inference_log_rows_total\{model="bench",outcome="(\w+)"\} (\d+)/g;
      const summary = summarise(
        intervals.slice(warmupIntervals),
        rssSamples,
        heapSamples,
        warmupEndS,
        durationS,
        intervals.reduce((n, i) => n + i.errors, 0),
      );
      await writeResults("serving-soak", {
        setup: `loopml serve bench@production (1 process, inference log on at sample rate 1, --log-max-rows ${LOG_MAX_ROWS} pruned every 30 s), wrk -t2 -c32 paced to 80% of the peak measured first (${peak.requestsPerSec} req/s, delay ${delayMs.toFixed(2)} ms per request and connection), ${durationS} s in ${intervalS} s intervals, the first ${warmupS} s warm-up; RSS of the server sampled every ${RSS_EVERY_MS / 1000} s, its JS heap in use after each interval (Node diagnostic report on SIGUSR2)`,
        targets: {
          memoryFlat:
            "after warm-up, RSS and JS heap in use: least-squares trend carried over the soak within +10% of the median; RSS also never above median +10% in the later half of the soak (the heap swings by its young generation between collections); a drop, or an early peak given back, is reported, not failed",
          p99Stable: "worst interval p99 <= 2x the median interval p99 (after warm-up)",
          errors: "0",
          p99Ms: "<= 5 (median interval)",
        },
        durationS,
        warmupS,
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

/** `steady` are the intervals after warm-up; `warmupEndS` is when warm-up ended (seconds since the soak started). */
function summarise(
  steady: readonly Interval[],
  rss: readonly MemorySample[],
  heap: readonly MemorySample[],
  warmupEndS: number,
  durationS: number,
  errors: number,
): Record<string, unknown> {
  const rssVerdict = memoryVerdict(rss, warmupEndS, durationS);
  const heapVerdict = memoryVerdict(heap, warmupEndS, durationS, { judgeMax: false });
  const latency = p99Verdict(steady.map((i) => i.p99Ms));
  return {
    memoryFlat: rssVerdict.flat && heapVerdict.flat,
    p99Stable: latency.stable,
    zeroErrors: errors === 0,
    p99WithinTarget: latency.medianIntervalP99Ms <= 5,
    errors,
    rss: rssVerdict,
    heapUsed: heapVerdict,
    latency,
  };
}

await main();
