// The serving benchmarks' shared plumbing: wrk runs and their parsing, server CPU from /proc, servers started and stopped.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createRegistryEvents } from "../../src/registry/events.ts";
import { createRegistryService, type RegistryService } from "../../src/registry/service.ts";
import { openWorkspace, type Workspace } from "../../src/workspace.ts";

export const HERE = import.meta.dirname;
export const ROOT = join(HERE, "..", "..");
export const DURATION = process.env.BENCH_DURATION ?? "10s";

export interface WrkResult {
  readonly requests: number;
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly socketErrors: number;
  readonly serverCpuUsPerRequest?: number;
}

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const CLOCK_TICKS = 100;

export function ensureSystemPackages(): void {
  const missing: string[] = [];
  if (spawnSync("sh", ["-c", "command -v wrk"]).status !== 0) missing.push("wrk");
  if (spawnSync("sh", ["-c", "command -v gunicorn"]).status !== 0) missing.push("gunicorn");
  const py = (m: string): boolean => spawnSync("/usr/bin/python3", ["-c", `import ${m}`]).status === 0;
  if (!py("xgboost")) missing.push("python3-xgboost");
  if (!py("flask")) missing.push("python3-flask");
  if (!py("fastapi")) missing.push("python3-fastapi");
  if (!py("uvicorn")) missing.push("python3-uvicorn");
  if (missing.length === 0) return;
  console.error(`bench: installing ${missing.join(" ")}`);
  const r = spawnSync("apt-get", ["install", "-y", "-q", ...missing], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`apt-get install ${missing.join(" ")} failed`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function luaScript(dir: string, name: string, body: string, delayMs?: number): string {
  const path = join(dir, `${name}.lua`);
  const lines = [
    'wrk.method = "POST"',
    'wrk.headers["Content-Type"] = "application/json"',
    `wrk.body = [==[${body}]==]`,
  ];
  if (delayMs !== undefined) lines.push(`function delay() return ${delayMs.toFixed(3)} end`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

function toMs(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

/**
 * wrk against `url`; with `server`, also the server's CPU time (all its processes) per request, which
 * other work on the machine distorts far less than requests per second.
 */
export function wrk(url: string, script: string, duration = DURATION, server?: ChildProcess): WrkResult {
  const cpuBefore = server?.pid ? processTreeCpuSeconds(server.pid) : 0;
  const r = spawnSync("wrk", ["-t2", "-c32", `-d${duration}`, "--latency", "-s", script, url], {
    encoding: "utf8",
  });
  const result = parseWrk(r.stdout);
  if (!server?.pid || result.requests === 0) return result;
  const cpu = processTreeCpuSeconds(server.pid) - cpuBefore;
  return { ...result, serverCpuUsPerRequest: Math.round((cpu * 1e6) / result.requests) };
}

/**
 * The per-request delay that paces wrk's 32 connections to `fraction` of `peakRps`. wrk has no fixed-rate mode,
 * and sizing the delay from the latency at peak overshoots (latency falls as load does), so a few short runs
 * correct it: each connection's cycle is delay + latency, and the delay moves by what the cycle misses.
 */
export function pacedDelayMs(
  url: string,
  dir: string,
  body: string,
  peakRps: number,
  fraction = 0.8,
): number {
  const targetCycleMs = (32 * 1000) / (fraction * peakRps);
  let delay = targetCycleMs / 2;
  for (let i = 0; i < 4; i++) {
    const r = wrk(url, luaScript(dir, "paced", body, delay), "3s");
    if (r.requestsPerSec <= 0) break;
    const cycleMs = (32 * 1000) / r.requestsPerSec;
    delay = Math.max(0, delay + (targetCycleMs - cycleMs));
    if (Math.abs(r.requestsPerSec / (fraction * peakRps) - 1) < 0.03) break;
  }
  return delay;
}

/** A process and all its descendants (gunicorn and cluster workers), from /proc. */
export function processTree(pid: number): number[] {
  const pids: number[] = [];
  const visit = (p: number): void => {
    pids.push(p);
    try {
      for (const task of readdirSync(`/proc/${p}/task`)) {
        const children = readFileSync(`/proc/${p}/task/${task}/children`, "utf8").trim();
        for (const c of children ? children.split(" ") : []) visit(Number(c));
      }
    } catch {
      // the process ended meanwhile
    }
  };
  visit(pid);
  return pids;
}

/** User + system CPU seconds of a process and its descendants. */
export function processTreeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, "utf8");
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / CLOCK_TICKS;
}

/** Resident memory of a process and its descendants, in MiB. */
export function processTreeRssMb(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      kb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // the process ended meanwhile
    }
  }
  return kb / 1024;
}

/** wrk in the background, so the benchmark can move aliases while it runs. */
export function wrkAsync(url: string, script: string, duration = DURATION): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", ["-t2", "-c32", `-d${duration}`, "--latency", "-s", script, url]);
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", reject);
    child.once("exit", () => resolve(parseWrk(out)));
  });
}

export function parseWrk(out: string): WrkResult {
  const line = (re: RegExp): string => re.exec(out)?.[1] ?? "";
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: Number(line(/(\d+) requests in/)),
    requestsPerSec: Number(line(/Requests\/sec:\s+([\d.]+)/)),
    p50Ms: toMs(line(/\s50%\s+(\S+)/)),
    p99Ms: toMs(line(/\s99%\s+(\S+)/)),
    non2xx: Number(line(/Non-2xx or 3xx responses: (\d+)/) || 0),
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

/** A project whose registry holds the benchmark model as versions 1 and 2 (same bytes), @production on 1. */
export async function registryProject(
  dir: string,
  model: string,
): Promise<{ ws: Workspace; registry: RegistryService }> {
  const ws = await openWorkspace({ dir, actor: "bench", logLevel: "silent" });
  const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
  await registry.createModel("bench");
  const { id } = await ws.blobs.put(readFileSync(model));
  for (let i = 0; i < 2; i++) await registry.createVersion("bench", { blobId: id, flavor: "xgboost-json" });
  await registry.setAlias("bench", "production", 1);
  return { ws, registry };
}

export function serveRegistry(
  project: string,
  port: number,
  log: boolean,
  extraArgs: readonly string[] = [],
): ChildProcess {
  return spawn(
    process.execPath,
    [
      join(ROOT, "bin", "loopml.js"),
      "serve",
      "bench@production",
      "--port",
      String(port),
      "--no-access-log",
      "--poll-ms",
      "200",
      ...(log ? [] : ["--no-inference-log"]),
      ...extraArgs,
    ],
    { cwd: project, stdio: "ignore" },
  );
}

export async function waitReady(url: string, body: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before answering`);
    try {
      const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`no answer from ${url} within 30 s`);
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  for (let i = 0; i < 100 && child.exitCode === null; i++) await sleep(50);
  if (child.exitCode === null) child.kill("SIGKILL");
}
