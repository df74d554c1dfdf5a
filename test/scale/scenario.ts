// The demo's closed loop driven through the CLI, as an operator runs it: version data, train through a pipeline
// (AutoML → register → promote), serve NAME@production from replicas under traffic, add newer data, retrain,
// promote, and watch every replica hot-swap. The same function runs on the embedded default and scaled out.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../setup/ports.ts";
import { writeFlightsSlice } from "./flights.ts";
import { loopmlOk, startLoopml, until, type LoopmlChild } from "./procs.ts";
import { sendTraffic, type TrafficStats } from "./traffic.ts";

export const MODEL = "flights-delay";
/** Every 300th flight: ~1,700 rows a month, enough for AutoML to find signal, small enough for CI. */
const SAMPLE_EVERY = 300;

const PIPELINE = `pipelines:
  train:
    stages:
      automl:
        uses: automl
        with: { data: "dataset:flights@latest", target: late, task: binary, metric: roc_auc, maxTrials: 3, seed: 7, ensemble: false }
      register:
        uses: register
        with: { model: build/automl/model.json, name: ${MODEL}, metrics: build/automl/automl-metrics.json }
      promote:
        uses: promote
        with: { registered: build/register/registered.json, to: production }
`;

export const FLIGHT = { hour: 17, weekday: 5, distance: 733, origin: "ORD", destination: "LGA" };

interface StepResult {
  readonly step: string;
  readonly status: string;
  readonly metrics: Record<string, number>;
  readonly outputs: { path: string; id: string }[];
}

export interface ScenarioResult {
  /** Per training run: the automl step's metrics without its wall-clock seconds, and the model file's blob id. */
  readonly trainings: { metrics: Record<string, number>; modelBlob: string | undefined }[];
  readonly datasetVersions: number[];
  readonly traffic: TrafficStats;
  /** The version each replica served before the retrain, and after. */
  readonly servedBefore: string[];
  readonly servedAfter: string[];
}

export interface ScenarioOptions {
  /** Environment of every loopml child (the store, blob store and queue settings). */
  readonly env: NodeJS.ProcessEnv;
  readonly replicas: number;
  /** Called once the project exists, before any training (e.g. to start workers). */
  readonly beforeTraining?: () => Promise<void>;
}

export async function closedLoop(dir: string, options: ScenarioOptions): Promise<ScenarioResult> {
  mkdirSync(join(dir, "data"), { recursive: true });
  writeFileSync(join(dir, "loopml.yaml"), PIPELINE);
  const cli = { cwd: dir, env: options.env };
  const csv = join(dir, "data", "flights.csv");
  const datasetVersions: number[] = [];
  const trainings: ScenarioResult["trainings"] = [];
  const version = async (month: number): Promise<void> => {
    await writeFlightsSlice(csv, month, SAMPLE_EVERY);
    const added = JSON.parse(await loopmlOk(["data", "add", csv, "--name", "flights", "--json"], cli)) as {
      version: { seq: number };
    };
    datasetVersions.push(added.version.seq);
  };
  const train = async (): Promise<void> => {
    const run = JSON.parse(await loopmlOk(["run", "train", "--json"], cli)) as {
      status: string;
      steps: StepResult[];
    };
    if (run.status !== "succeeded") throw new Error(`pipeline ${run.status}: ${JSON.stringify(run.steps)}`);
    const automl = run.steps.find((s) => s.step === "automl") as StepResult;
    const { search_seconds: _seconds, ...metrics } = automl.metrics;
    trainings.push({
      metrics,
      modelBlob: automl.outputs.find((o) => o.path === "build/automl/model.json")?.id,
    });
  };

  await version(1);
  await options.beforeTraining?.();
  await train();

  const replicas: LoopmlChild[] = [];
  const urls: string[] = [];
  let traffic: ReturnType<typeof sendTraffic> | undefined;
  try {
    for (let i = 0; i < options.replicas; i++) {
      const port = await freePort();
      urls.push(`http://127.0.0.1:${port}`);
      replicas.push(
        startLoopml(
          ["serve", `${MODEL}@production`, "--port", String(port), "--poll-ms", "300", "--no-access-log"],
          cli,
        ),
      );
    }
    await Promise.all(replicas.map((r) => r.waitFor(/serving flights-delay/)));
    traffic = sendTraffic(urls, `/v1/models/${MODEL}@production/predict`, { instances: [FLIGHT] });
    await until("every replica answering", () => traffic?.stats.latestVersion.size === urls.length);
    const servedBefore = urls.map((u) => traffic?.stats.latestVersion.get(u) ?? "");

    await version(2);
    await train();
    await until(
      "every replica serving version 2",
      () => urls.every((u) => traffic?.stats.latestVersion.get(u) === "2"),
      60_000,
    );
    const stats = await traffic.stop();
    traffic = undefined;
    return {
      trainings,
      datasetVersions,
      traffic: stats,
      servedBefore,
      servedAfter: urls.map((u) => stats.latestVersion.get(u) ?? ""),
    };
  } finally {
    await traffic?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
  }
}
