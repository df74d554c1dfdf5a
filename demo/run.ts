// `make demo`: the MLOps loop on real, drifting flights data (US DOT, Jan–Jun 2001), with what loopml has today.
// Each month of traffic is versioned, scored by the production model, checked for drift against the training
// month; drift or decay triggers a retrain on the newest data, and the candidate replaces the champion only when
// it wins on the same fresh holdout. Every decision lands on the audit trail, which is verified at the end.
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { openDuck, quoteString } from "../src/data/duck.ts";
import { readFrame } from "../src/data/read-frame.ts";
import { createDataService } from "../src/data/service.ts";
import { initProject } from "../src/deploy/init-project.ts";
import { getColumn, takeRows, type Frame } from "../src/learn/frame.ts";
import { gbdt, type GbdtModel } from "../src/learn/gbdt/index.ts";
import { rocAuc } from "../src/learn/metrics.ts";
import { columnDrift, datasetDrift } from "../src/monitoring/stats/index.ts";
import { createRegistryEvents } from "../src/registry/events.ts";
import { createRegistryService, type RegistryService } from "../src/registry/service.ts";
import { createTrackingService, type TrackingService } from "../src/tracking/service.ts";
import { openWorkspace, type Workspace } from "../src/workspace.ts";

const ROOT = join(import.meta.dirname, "..");
const WORKSPACE = process.env["DEMO_WORKSPACE"] ?? join(ROOT, "demo-workspace");
// vega-datasets exports only its build/index.js: its data folder sits beside build/.
const FLIGHTS = join(
  dirname(createRequire(import.meta.url).resolve("vega-datasets")),
  "..",
  "data",
  "flights-3m.parquet",
);
const MONTHS = ["January", "February", "March", "April", "May", "June"];
const FEATURES = ["distance", "hour", "weekday", "origin", "destination"];
/** What the monitor watches: the features, and the label once it arrives (late: a flight's delay is known after it lands). */
const MONITORED = ["distance", "hour", "weekday", "origin", "destination", "late"];
/**
 * Evidently's default tests (normalised Wasserstein for numbers, Jensen–Shannon for categories) with a
 * sensitive threshold of 0.05 instead of 0.1: the flights features move little from month to month, the
 * weekday mix and the delay rate do, and this monitor is meant to catch that.
 */
const DRIFT_THRESHOLD = 0.05;
/**
 * Retrain as soon as one monitored column of six drifted (share ≥ 1/6), or when AUC fell this far below the
 * model's validation AUC. The gate, not the trigger, decides whether the retrained model replaces the champion.
 */
const DRIFT_SHARE_TRIGGER = 1 / 6;
const AUC_DECAY_TRIGGER = 0.02;
const SAMPLE_EVERY = Number(process.env["DEMO_SAMPLE_EVERY"] ?? 6);
const MODEL = "flights-delay";

/** The services the loop drives: tracking records every training run, the registry every model and alias move. */
interface Loop {
  readonly ws: Workspace;
  readonly tracking: TrackingService;
  readonly registry: RegistryService;
}

interface Champion {
  readonly model: GbdtModel;
  readonly version: number;
  readonly trainedOn: string;
  readonly validationAuc: number;
}

interface TimelineRow {
  month: string;
  rows: number;
  dataVersion: string;
  storedMiB: number;
  driftShare: number;
  aucServed: number;
  modelServed: number;
  decision: string;
}

const log = (msg: string): void => {
  process.stderr.write(`[demo] ${msg}\n`);
};

async function main(): Promise<void> {
  const started = performance.now();
  rmSync(WORKSPACE, { recursive: true, force: true });
  await initProject(WORKSPACE, { name: "flights-delay" });
  log(`project created in ${WORKSPACE} (loopml init)`);

  const ws = await openWorkspace({ dir: WORKSPACE });
  try {
    const timeline = await runLoop(ws);
    printTimeline(timeline);
    const verdict = await ws.audit.verify();
    const events = await ws.audit.list({ limit: 100_000 });
    console.log(
      `\naudit trail: ${events.length} events, chain ${verdict.ok ? "verified OK" : `BROKEN at ${verdict.brokenAt}`}`,
    );
    console.log(`finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    console.log(`\nWhere to look:
  cd ${WORKSPACE}
  ../bin/loopml.js data versions flights     # one version per month, chunk-deduplicated
  ../bin/loopml.js data diff flights@1 flights@6
  ../bin/loopml.js runs list                 # every training run with its params and metrics
  ../bin/loopml.js models show ${MODEL}      # versions, @production and its history
  ../bin/loopml.js audit log                 # every version, model and promotion decision, hash-chained
  ../bin/loopml.js audit verify`);
    if (!verdict.ok) throw new Error("audit chain verification failed");
  } finally {
    await ws.close();
  }
}

async function runLoop(ws: Workspace): Promise<TimelineRow[]> {
  const data = createDataService(ws);
  const loop: Loop = {
    ws,
    tracking: createTrackingService(ws),
    registry: createRegistryService(
      { ...ws, events: createRegistryEvents() },
      { actor: "demo", role: "admin" },
    ),
  };
  await loop.registry.createModel(MODEL, {
    description: "Is a US domestic flight more than 15 minutes late?",
  });
  const csv = join(WORKSPACE, "data", "flights.csv");
  const timeline: TimelineRow[] = [];
  let champion: Champion | undefined;
  let reference: Frame | undefined;

  for (let m = 1; m <= MONTHS.length; m++) {
    const month = MONTHS[m - 1] ?? String(m);
    // The data lake grows by a month: the dataset file now holds January..this month, and is re-versioned.
    const rows = await exportMonths(csv, m);
    const added = await data.add(csv, { name: "flights", message: `flights through ${month} 2001` });
    const version = `flights@${added.version.seq}`;
    log(
      `${month}: ${rows} flights versioned as ${version} (${mib(added.bytesStored)} MiB of new chunks stored)`,
    );
    const current = (await readFrame(csv, { columns: [...FEATURES, "late"], where: `month = ${m}` })).frame;

    if (!champion) {
      reference = current;
      champion = await train(loop, current, version, month);
      await promote(loop, champion, "first model: no champion yet");
      timeline.push({
        month,
        rows,
        dataVersion: version,
        storedMiB: mib(added.bytesStored),
        driftShare: 0,
        aucServed: champion.validationAuc,
        modelServed: champion.version,
        decision: `trained v${champion.version}, promoted`,
      });
      continue;
    }

    // Monitoring: the month's traffic against the champion's training data, and its late-arriving labels.
    const driftShare = driftOf(reference as Frame, current);
    const labels = numeric(current, "late");
    const aucServed = rocAuc(labels, champion.model.predict(current));
    const decayed = champion.validationAuc - aucServed > AUC_DECAY_TRIGGER;
    const drifted = driftShare >= DRIFT_SHARE_TRIGGER - 1e-9;
    await ws.audit.record({
      actor: "monitor",
      action: "monitor.window.check",
      target: `monitor:${MODEL}`,
      details: { month, driftShare, aucServed, championVersion: champion.version, drifted, decayed },
    });
    let decision = "no drift, keep champion";
    if (drifted || decayed) {
      const reason = drifted
        ? `${Math.round(driftShare * MONITORED.length)} of ${MONITORED.length} columns drifted`
        : `AUC ${aucServed.toFixed(3)} decayed`;
      log(`${month}: ${reason} → retraining on the newest data`);
      // Retrain on the first three weeks of the month, compare both models on its last week (the same fresh holdout).
      const trainFrame = (
        await readFrame(csv, { columns: [...FEATURES, "late"], where: `month = ${m} AND day <= 21` })
      ).frame;
      const holdout = (
        await readFrame(csv, { columns: [...FEATURES, "late"], where: `month = ${m} AND day > 21` })
      ).frame;
      const candidate = await train(loop, trainFrame, version, `${month}, days 1-21`);
      const y = numeric(holdout, "late");
      const candAuc = rocAuc(y, candidate.model.predict(holdout));
      const champAuc = rocAuc(y, champion.model.predict(holdout));
      if (candAuc > champAuc) {
        await promote(
          loop,
          candidate,
          `holdout AUC ${candAuc.toFixed(4)} > champion's ${champAuc.toFixed(4)} on ${month} days 22+`,
        );
        decision = `${reason}; v${candidate.version} AUC ${candAuc.toFixed(3)} > v${champion.version} ${champAuc.toFixed(3)}: promoted`;
        champion = candidate;
        reference = trainFrame;
      } else {
        await ws.audit.record({
          actor: "gate",
          action: "model.promotion.reject",
          target: `model:${MODEL}@${candidate.version}`,
          details: { candidateAuc: candAuc, championAuc: champAuc, champion: champion.version },
        });
        decision = `${reason}; v${candidate.version} AUC ${candAuc.toFixed(3)} ≤ v${champion.version} ${champAuc.toFixed(3)}: kept champion`;
      }
    }
    timeline.push({
      month,
      rows,
      dataVersion: version,
      storedMiB: mib(added.bytesStored),
      driftShare,
      aucServed,
      modelServed: champion.version,
      decision,
    });
  }
  return timeline;
}

/** Writes January..month `m` of the sampled flights to `csv`, with derived features and the label. */
async function exportMonths(csv: string, m: number): Promise<number> {
  const duck = await openDuck();
  try {
    const sql = `COPY (
      SELECT date, month(date) AS month, day(date) AS day, hour(date) AS hour, dayofweek(date) AS weekday,
             distance, origin, destination, delay, CAST(delay > 15 AS INTEGER) AS late
      FROM (SELECT *, row_number() OVER () AS rn FROM read_parquet(${quoteString(FLIGHTS)}))
      WHERE rn % ${SAMPLE_EVERY} = 0 AND month(date) <= ${m}
      ORDER BY date, rn
    ) TO ${quoteString(csv)} (HEADER, DELIMITER ',')`;
    await duck.conn.run(sql);
    const r = await duck.conn.runAndReadAll(
      `SELECT count(*) FROM read_csv(${quoteString(csv)}) WHERE month = ${m}`,
    );
    return Number(r.getColumns()[0]?.[0]);
  } finally {
    await duck.close();
  }
}

async function train(loop: Loop, frame: Frame, dataVersion: string, trainedOn: string): Promise<Champion> {
  // Last 20% of the (time-ordered) rows validate and stop boosting early: never validate on the past.
  const n = frame.nRows;
  const cut = Math.floor(n * 0.8);
  const idx = (a: number, b: number): Uint32Array => Uint32Array.from({ length: b - a }, (_, i) => a + i);
  const train = takeRows(frame, idx(0, cut));
  const valid = takeRows(frame, idx(cut, n));
  const params = { objective: "binary", nRounds: 300, learningRate: 0.1, maxDepth: 6, seed: 7 } as const;
  return loop.tracking.withRun(
    { experiment: MODEL, name: `train on ${dataVersion} (${trainedOn})` },
    async (run) => {
      await run.logParams({ ...params, features: FEATURES.join(",") });
      await run.logInputs([dataVersion], "train");
      const t = performance.now();
      const model = gbdt(params).fit(train, "late", { valid });
      const fitSeconds = (performance.now() - t) / 1000;
      const validationAuc = rocAuc(numeric(valid, "late"), model.predict(valid));
      await run.logMetrics({
        validation_auc: validationAuc,
        fit_seconds: fitSeconds,
        train_rows: train.nRows,
      });
      const artifact = await loop.ws.blobs.put(Buffer.from(JSON.stringify(model.toJSON())));
      await run.flush();
      const mv = await loop.registry.createVersion(MODEL, {
        blobId: artifact.id,
        flavor: "native",
        runId: run.id,
        metrics: { validation_auc: validationAuc },
        signature: {
          inputs: FEATURES.map((name) => ({
            name,
            type: name === "origin" || name === "destination" ? "string" : "double",
          })),
          outputs: [{ name: "late_probability", type: "double" }],
        },
        description: `GBDT trained on ${dataVersion} (${trainedOn})`,
      });
      log(
        `model v${mv.version} trained on ${dataVersion} (${trainedOn}): ${train.nRows} rows, validation AUC ${validationAuc.toFixed(4)}, ${fitSeconds.toFixed(1)} s, run ${run.id.slice(0, 8)}`,
      );
      return { model, version: mv.version, trainedOn: `${dataVersion} (${trainedOn})`, validationAuc };
    },
  );
}

/** Moves @production through the registry's gate (schema compatibility); the holdout comparison is the reason. */
async function promote(loop: Loop, model: Champion, why: string): Promise<void> {
  const result = await loop.registry.promote(MODEL, model.version, { to: "production", reason: why });
  if (result.status !== "moved") throw new Error(`promotion of v${model.version} is pending approval`);
  log(`@production → v${model.version} (${why})`);
}

/** Share of features whose distribution drifted (Evidently's default tests) between reference and current. */
function driftOf(reference: Frame, current: Frame): number {
  const results = MONITORED.map((name) => {
    const ref = getColumn(reference, name);
    const cur = getColumn(current, name);
    if (ref.kind === "categorical" && cur.kind === "categorical") {
      // Codes must share one dictionary: map the current month's strings onto the reference's.
      const index = new Map(ref.dictionary.map((v, i) => [v, i]));
      const extra = new Map<string, number>();
      const codes = Int32Array.from(cur.codes, (c) => {
        if (c < 0) return -1;
        const v = cur.dictionary[c] ?? "";
        return (
          index.get(v) ??
          extra.get(v) ??
          (extra.set(v, ref.dictionary.length + extra.size), ref.dictionary.length + extra.size - 1)
        );
      });
      return columnDrift("categorical", ref.codes, codes, { threshold: DRIFT_THRESHOLD });
    }
    const kind = name === "late" ? "binary" : "numeric";
    return columnDrift(kind, numeric(reference, name), numeric(current, name), {
      threshold: DRIFT_THRESHOLD,
    });
  });
  return datasetDrift(results).share;
}

function numeric(frame: Frame, name: string): Float64Array {
  const c = getColumn(frame, name);
  if (c.kind !== "numeric") throw new Error(`${name} is not numeric`);
  return c.values;
}

function mib(bytes: number): number {
  return Math.round((bytes / 1024 ** 2) * 10) / 10;
}

function printTimeline(rows: readonly TimelineRow[]): void {
  console.log("\nmonth     flights  data version  new MiB  drift share  AUC served  model  decision");
  for (const r of rows) {
    console.log(
      `${r.month.padEnd(9)} ${String(r.rows).padStart(7)}  ${r.dataVersion.padEnd(12)}  ${r.storedMiB.toFixed(1).padStart(7)}  ${r.driftShare.toFixed(2).padStart(11)}  ${r.aucServed.toFixed(4).padStart(10)}  ${`v${r.modelServed}`.padStart(5)}  ${r.decision}`,
    );
  }
}

await main();
