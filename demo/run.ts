// `make demo`: the whole MLOps loop through the product a user runs, on real, drifting flights data (US DOT,
// Jan–Jun 2001). loopml.yaml declares the data, the model and its gate, the endpoint, the monitor and the retrain
// policy; `loopml apply` creates them; AutoML trains on January; `loopml up` serves over HTTP while February to
// June are replayed in time order on an accelerated clock, with late labels. The monitor's alerts retrain the
// model, the gate decides, serving swaps winners in under traffic; the audit trail is verified at the end.
import { copyFile, mkdir, rm } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { createManualClock } from "../src/_internal/clock.ts";
import { silentLogger } from "../src/_internal/logger.ts";
import { createDataService } from "../src/data/service.ts";
import { formatPlan } from "../src/loop/format-plan.ts";
import { createLoopPorts } from "../src/loop/ports.ts";
import { applyProject, loadDesiredState } from "../src/loop/project.ts";
import { createRetrainer } from "../src/loop/retrain.ts";
import { formatStory, modelEvents } from "../src/loop/story.ts";
import { automlTrainer } from "../src/loop/trainers.ts";
import { startUp, type UpHandle } from "../src/loop/up.ts";
import type { MonitorResult } from "../src/monitoring/monitors.ts";
import { openWorkspace, type Workspace } from "../src/workspace.ts";
import { decisionFor, type Decision } from "./decisions.ts";
import { MONTHS, readMonth, writeMonths } from "./flights.ts";
import { replayMonth } from "./replay.ts";
import { printTimeline, printWhereToLook, type MonthRow } from "./timeline.ts";

const ROOT = join(import.meta.dirname, "..");
const WORKSPACE = process.env["DEMO_WORKSPACE"] ?? join(ROOT, "demo-workspace");
const SAMPLE_EVERY = Number(process.env["DEMO_SAMPLE_EVERY"] ?? 6);
const MODEL = "flights-delay";
const DEPLOYMENT = "delay-api";
const MONITOR = "delay-drift";
/** Seeds AutoML, so two runs of the demo search the same way (time budgets still depend on the machine). */
const SEED = 7;
/** How often `loopml up` looks for work (schedules, monitors, the retrain loop): fast, the clock is accelerated. */
const TICK_MS = 300;

const started = performance.now();
/** The accelerated clock: it shows the departure time of the flights being replayed. */
const clock = createManualClock(Date.UTC(2001, 1, 1));
const day = (): string => new Date(clock.now()).toISOString().slice(0, 16).replace("T", " ");
const log = (msg: string): void => {
  process.stderr.write(
    `[demo ${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s | ${day()}] ${msg}\n`,
  );
};

async function main(): Promise<void> {
  if (!(SAMPLE_EVERY >= 1 && Number.isInteger(SAMPLE_EVERY)))
    throw new Error(
      `DEMO_SAMPLE_EVERY must be a positive integer, got "${process.env["DEMO_SAMPLE_EVERY"]}".`,
    );
  await rm(WORKSPACE, { recursive: true, force: true });
  await mkdir(join(WORKSPACE, "data"), { recursive: true });
  await copyFile(join(import.meta.dirname, "loopml.yaml"), join(WORKSPACE, "loopml.yaml"));
  await writeMonths(join(WORKSPACE, "data", "flights.csv"), 1, SAMPLE_EVERY);
  log(
    `workspace ${WORKSPACE}: loopml.yaml and January's flights (every ${SAMPLE_EVERY}th) in data/flights.csv`,
  );

  const ws = await openWorkspace({ dir: WORKSPACE, clock, logger: silentLogger });
  let up: UpHandle | undefined;
  try {
    const desired = await loadDesiredState(WORKSPACE);
    // loopml apply, through the library call the CLI makes: one audit event per change.
    const { plan } = await applyProject(ws, createLoopPorts(ws), desired, {
      onAction: (a) => log(`apply: ${a.op} ${a.kind} "${a.name}"`),
    });
    process.stderr.write(formatPlan(plan).replace("loopml will perform these actions:", "Applied:"));

    // The first model goes the way every later one will: the retrain policy's AutoML, its gate, @production.
    const policy = desired.file.retrain?.[MODEL];
    if (!policy) throw new Error(`demo/loopml.yaml has no retrain policy for ${MODEL}`);
    log("training the first model with AutoML on January (flights@1)…");
    const ports = createLoopPorts(ws);
    const first = await createRetrainer({
      ws,
      registry: ports.registry,
      deployments: ports.deployments,
      trainer: automlTrainer(ws, { seed: SEED }),
    }).retrain(MODEL, policy, { kind: "manual", detail: { reason: "first model, trained on January" } });
    if (first.status !== "promoted")
      throw new Error(`the first model was not promoted: ${JSON.stringify(first)}`);
    log(
      `v${first.candidate} promoted to @production: holdout ${first.metric} ${first.candidateScore.toFixed(3)}`,
    );

    up = await startUp({
      ws,
      desired,
      port: 0,
      tickMs: TICK_MS,
      trainer: automlTrainer(ws, { seed: SEED }),
      log: (line) => log(`up: ${line}`),
    });
    const url = up.url ?? "";
    log(`loopml up: API, dashboard and ${DEPLOYMENT} on ${url}`);
    const timeline = await replayAll(ws, up, url);
    await up.stop();
    up = undefined;

    printTimeline(timeline);
    const verdict = await ws.audit.verify();
    console.log(
      `loopml audit verify: ${verdict.ok ? `OK, ${verdict.events} events, hash chain intact` : `BROKEN at event ${verdict.brokenAt}: ${verdict.reason}`}`,
    );
    // The decisions only: scores are in the timeline, and each promotion is also an alias move.
    const story = (await modelEvents(ws.audit, MODEL)).filter((e) =>
      ["retrain.start", "retrain.skip", "retrain.promote", "retrain.reject", "retrain.fail"].includes(
        e.action,
      ),
    );
    console.log(`\nloopml audit log --model ${MODEL} (its decisions; the full story has every step):`);
    console.log(formatStory(story).replace(/^/gm, "  "));
    // From the default workspace the CLI is ../bin/loopml.js; from elsewhere, its full path.
    const inRoot = dirname(WORKSPACE) === ROOT;
    printWhereToLook(
      inRoot ? relative(ROOT, WORKSPACE) : WORKSPACE,
      inRoot ? "../bin/loopml.js" : join(ROOT, "bin", "loopml.js"),
      { model: MODEL, monitor: MONITOR },
    );
    console.log(`\nfinished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const failed = timeline.reduce((s, r) => s + r.failed, 0);
    if (!verdict.ok || failed > 0) process.exitCode = 1;
  } finally {
    await up?.stop();
    await ws.close();
  }
}

/** February to June through the endpoint; at each month's end the data is versioned and the monitor runs. */
async function replayAll(ws: Workspace, up: UpHandle, url: string): Promise<MonthRow[]> {
  const data = createDataService(ws);
  const timeline: MonthRow[] = [];
  /** The alert of the previous month's window, while the loop works on it. */
  let open: { row: MonthRow; seq: number; still: boolean } | undefined;
  // loopml up runs a monitor that never ran at once: wait for that first (empty) window before any traffic.
  let monitorRuns = await nextMonitorRun(url, 0).then((r) => r.seq);

  for (let m = 2; m <= MONTHS.length; m++) {
    const month = MONTHS[m - 1] ?? String(m);
    const flights = await readMonth(m, SAMPLE_EVERY);
    const inputs = await servedInputs(url);
    log(`${month}: replaying ${flights.rows} flights through POST /v1/models/${DEPLOYMENT}/predict`);
    const r = await replayMonth(
      {
        url,
        deployment: DEPLOYMENT,
        model: MODEL,
        inputs,
        setTime: (t) => clock.set(t),
        flushLog: () => up.flushInferenceLog(),
      },
      flights,
      `2001-${String(m).padStart(2, "0")}`,
    );
    log(
      `${month}: ${r.requests} requests, ${r.failed} failed, answered by ${Object.entries(r.versions)
        .map(([v, n]) => `v${v} ×${n}`)
        .join(", ")}; ${r.labels} late labels posted`,
    );
    if (r.firstError !== undefined) log(`${month}: first failure: ${r.firstError}`);
    // A retrain started by last month's alert has had this month to finish; wait for it before the next window.
    if (open) open.row.decision = await settle(ws, open);
    open = undefined;

    // The month's labelled flights join the data lake as a new version: what the next retrain trains on.
    await writeMonths(join(WORKSPACE, "data", "flights.csv"), m, SAMPLE_EVERY);
    const added = await data.add(join(WORKSPACE, "data", "flights.csv"), {
      name: "flights",
      message: `flights through ${month} 2001`,
    });
    log(`${month}: data lake versioned as flights@${added.version.seq}`);

    // Midnight on the 1st: loopml up's monitor schedule fires and checks the last 30 days of the inference log.
    clock.set(Date.UTC(2001, m, 1));
    const result = await nextMonitorRun(url, monitorRuns);
    monitorRuns = result.seq;
    const fired = result.alerts.filter((x) => x.transition === "fire");
    const firing = (await alertStates(url)).some((x) => x.state === "firing");
    const auc = result.performance?.metrics["auc"]?.value ?? null;
    const row: MonthRow = {
      month,
      requests: r.requests,
      failed: r.failed,
      rows: r.rows,
      served: result.window.modelVersions,
      driftShare: result.check.dataset?.share ?? null,
      alert: fired.length > 0 ? "fired" : firing ? "firing" : "-",
      auc,
      decision: "no alert: keep serving",
    };
    timeline.push(row);
    log(
      `${month}: monitor window ${result.seq}: ${result.window.rows} predictions, drift share ${row.driftShare?.toFixed(2) ?? "n/a"}, AUC ${auc?.toFixed(3) ?? "n/a"}${fired.length > 0 ? `, ALERT: ${fired.map((x) => `${x.rule} (value ${x.value.toFixed(3)})`).join("; ")}` : firing ? ", alert still firing" : ""}`,
    );
    if (fired.length > 0 || firing) {
      // The loop acts on the alert event, or on a window that still alerts after its last retrain finished.
      const still = fired.length === 0;
      open = { row, seq: await eventSeq(ws, still ? "monitor.run" : "monitor.alert", result.seq), still };
      log(
        `${month}: the retrain policy takes it from here; ${m < MONTHS.length ? `${MONTHS[m] ?? ""}'s traffic goes on meanwhile` : "waiting for it"}`,
      );
    }
  }
  if (open) open.row.decision = await settle(ws, open);
  await servingProduction(ws, url);
  return timeline;
}

/** Waits until the loop has decided about the alert (a retrain can take a while on a loaded machine). */
async function settle(ws: Workspace, open: { seq: number; still: boolean }): Promise<string> {
  const prefix = open.still ? "still alerting" : "alert";
  let d: Decision = await decisionFor(ws, MODEL, open.seq);
  if (d.state !== "done") log(`waiting for the retrain loop (${d.text})…`);
  let ignoredSince: number | undefined;
  while (d.state !== "done") {
    await sleep(250);
    d = await decisionFor(ws, MODEL, open.seq);
    // A still-firing window is followed up only when a retrain finished since the alert fired.
    if (open.still && d.state === "waiting" && (await loopCursor(ws)) >= open.seq) {
      ignoredSince ??= performance.now();
      if (performance.now() - ignoredSince > 3000) return `${prefix}: no retrain finished since it fired`;
    }
  }
  log(`retrain loop: ${d.text}`);
  return `${prefix} → ${d.text}`;
}

/** How far the retrain loop has read the audit trail. */
async function loopCursor(ws: Workspace): Promise<number> {
  const row = await ws.store.db
    .selectFrom("meta")
    .select("value")
    .where("key", "=", "loop.retrain.cursor")
    .executeTakeFirst();
  return Number(row?.value ?? 0);
}

/** After the last promotion, serving must follow it: the endpoint answers with @production's version. */
async function servingProduction(ws: Workspace, url: string): Promise<void> {
  const production = (await createLoopPorts(ws).registry.getModel(MODEL)).aliases["production"];
  for (let i = 0; i < 600; i++) {
    const r = (await (await fetch(`${url}/v1/models/${DEPLOYMENT}`)).json()) as { version: string };
    if (r.version === String(production)) return;
    await sleep(100);
  }
  throw new Error(`serving did not swap in v${production} within a minute`);
}

/** The served model's input columns, once the endpoint answers (up loads it in the background). */
async function servedInputs(url: string): Promise<string[]> {
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`${url}/v1/models/${DEPLOYMENT}`);
    if (res.ok) {
      const r = (await res.json()) as { signature: { inputs: { name: string }[] } };
      return r.signature.inputs.map((c) => c.name);
    }
    await sleep(100);
  }
  throw new Error(`${DEPLOYMENT} is not served: see the "up:" lines above`);
}

async function api<T>(url: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`);
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

async function lastMonitorRun(url: string): Promise<number> {
  const h = await api<{ runs: { seq: number }[] }>(url, `/api/v1/monitors/${MONITOR}/history?limit=1`);
  return h.runs[0]?.seq ?? 0;
}

/** The monitor run after `after`, by loopml up's schedule (it ticks every TICK_MS). */
async function nextMonitorRun(url: string, after: number): Promise<MonitorResult> {
  for (let i = 0; i < 1200; i++) {
    const seq = await lastMonitorRun(url);
    if (seq > after) return api<MonitorResult>(url, `/api/v1/monitors/${MONITOR}/runs/${seq}`);
    await sleep(100);
  }
  throw new Error(`monitor ${MONITOR} did not run within two minutes of its schedule`);
}

async function alertStates(url: string): Promise<{ state: string }[]> {
  return (await api<{ alerts: { state: string }[] }>(url, `/api/v1/monitors/${MONITOR}/alerts`)).alerts;
}

/** The audit event of monitor window `seq` that the retrain loop acts on (the first one of its kind). */
async function eventSeq(ws: Workspace, action: string, seq: number): Promise<number> {
  const events = await ws.audit.list({ action, target: `monitor:${MONITOR}`, limit: 100_000 });
  const key = action === "monitor.run" ? "seq" : "window";
  const first = events.find((e) => e.details[key] === seq);
  if (!first) throw new Error(`monitor ${MONITOR} window ${seq} wrote no "${action}" audit event`);
  return first.seq;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

await main();
