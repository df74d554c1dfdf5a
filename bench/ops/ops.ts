// Load: the control plane (`loopml server`) with 50 concurrent clients logging metric batches for N minutes, every
// point counted back from the store. The serving soak (80% of peak, inference log on, p99 and RSS per interval)
// is bench/serving/soak.ts, driven by wrk rather than by Node clients that saturate before the server does.
// N = LOOPML_BENCH_OPS_MINUTES (default 5). Results: bench/results/ops.json.
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { freePort } from "../../test/setup/ports.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { startLoopml } from "../../test/scale/procs.ts";
import { writeResults } from "../common.ts";

const MINUTES = Number(process.env["LOOPML_BENCH_OPS_MINUTES"] ?? 5);
const SECONDS = Math.max(10, MINUTES * 60);
const INTERVAL_S = Math.max(5, Math.min(30, SECONDS / 10));
const CLIENTS = 50;
const POINTS_PER_BATCH = 100;

const log = (m: string): void => void process.stderr.write(`[ops] ${m}\n`);

/** Resident set size and CPU seconds (user + system) of a process, from /proc. */
function procStats(pid: number): { rssMb: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // utime and stime are fields 14 and 15 of stat, counted from the state field (3) here.
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  return { rssMb: Math.round(rss * 10) / 10, cpuSeconds: ticks / 100 };
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

async function post(url: string, body: unknown): Promise<number> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

async function controlPlane(dir: string): Promise<Record<string, unknown>> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = startLoopml(["server", "--port", String(port)], { cwd: dir });
  try {
    await server.waitFor(/listening on/);
    const runs: string[] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const res = await fetch(`${base}/api/v1/runs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ experiment: "soak", name: `client-${c}` }),
      });
      runs.push(((await res.json()) as { id: string }).id);
    }
    const acked = new Array<number>(CLIENTS).fill(0);
    let errors = 0;
    let slowest = 0;
    const intervals: { t: number; pointsPerSecond: number; p99Ms: number }[] = [];
    let windowLatencies: number[] = [];
    let windowPoints = 0;
    const end = Date.now() + SECONDS * 1000;
    const cpu0 = procStats(server.pid).cpuSeconds;
    const client = async (c: number): Promise<void> => {
      let step = 0;
      while (Date.now() < end) {
        const metrics = Array.from({ length: POINTS_PER_BATCH }, (_, j) => ({
          key: j % 2 === 0 ? "loss" : "accuracy",
          value: 1 / (step + j + 1),
          step: step + j,
          timestamp: Date.now(),
        }));
        const t0 = performance.now();
        const status = await post(`${base}/api/v1/runs/${runs[c]}/batch`, { metrics });
        const ms = performance.now() - t0;
        slowest = Math.max(slowest, ms);
        if (status === 200) {
          acked[c] = (acked[c] as number) + POINTS_PER_BATCH;
          windowPoints += POINTS_PER_BATCH;
          windowLatencies.push(ms);
          step += POINTS_PER_BATCH;
        } else errors++;
      }
    };
    const started = Date.now();
    const sampler = setInterval(() => {
      const sorted = windowLatencies.sort((a, b) => a - b);
      intervals.push({
        t: Math.round((Date.now() - started) / 1000),
        pointsPerSecond: Math.round(windowPoints / INTERVAL_S),
        p99Ms: Math.round(quantile(sorted, 0.99)),
      });
      windowLatencies = [];
      windowPoints = 0;
    }, INTERVAL_S * 1000);
    await Promise.all(runs.map((_, c) => client(c)));
    clearInterval(sampler);
    const serverCpu = procStats(server.pid).cpuSeconds - cpu0;
    // Count every point back from the store, run by run.
    let stored = 0;
    let mismatched = 0;
    for (let c = 0; c < CLIENTS; c++) {
      let n = 0;
      for (const key of ["loss", "accuracy"]) {
        const res = await fetch(`${base}/api/v1/runs/${runs[c]}/metrics/${key}`);
        n += ((await res.json()) as { points: unknown[] }).points.length;
      }
      stored += n;
      if (n !== acked[c]) mismatched++;
    }
    const sent = acked.reduce((a, b) => a + b, 0);
    const result = {
      clients: CLIENTS,
      seconds: SECONDS,
      pointsAcknowledged: sent,
      pointsStored: stored,
      pointsLost: sent - stored,
      runsWithMismatch: mismatched,
      errors,
      slowestRequestMs: Math.round(slowest),
      pointsPerSecond: Math.round(sent / SECONDS),
      serverCpuSeconds: Math.round(serverCpu * 10) / 10,
      intervals,
    };
    log(
      `control plane: ${sent} points acknowledged, ${stored} stored, ${errors} errors, slowest ${result.slowestRequestMs} ms`,
    );
    return result;
  } finally {
    await server.stop();
  }
}

const tmp = makeTempDir("loopml-bench-ops-");
try {
  const load = loadavg()[0];
  const cpu0 = process.cpuUsage();
  const control = await controlPlane(tmp.path);
  const cpu = process.cpuUsage(cpu0);
  await writeResults("ops", {
    minutes: MINUTES,
    loadAverageAtStart: load,
    loadGeneratorCpuSeconds: Math.round((cpu.user + cpu.system) / 1e5) / 10,
    note: "load generator and server share the machine's cores; with other work running, wall-clock figures are lower bounds",
    controlPlane: control,
  });
  const lost = (control["pointsLost"] as number) !== 0 || (control["runsWithMismatch"] as number) !== 0;
  if (lost) process.exitCode = 1;
} finally {
  tmp.remove();
}
