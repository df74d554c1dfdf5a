// The loopml.yaml document as zod schemas: one source for validation, the typed DesiredState and the JSON Schema.
import { z } from "zod";
import { LoopmlError } from "../errors.ts";
import { parseCron } from "../pipeline/cron.ts";
import { parseDuration, parsePipelinesYaml, readYaml } from "../pipeline/parse.ts";
import { parseAutomationYaml, type Automation } from "../pipeline/schedules.ts";
import type { PipelineSpec } from "../pipeline/types.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const ALIAS_REF = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}@[A-Za-z][A-Za-z0-9_-]{0,99}$/;
const REFERENCE = /^(dataset:[A-Za-z0-9][A-Za-z0-9_.-]*@(\d+|latest)|run:[A-Za-z0-9_-]+)$/;

const name = (what: string): z.ZodString =>
  z.string().regex(NAME, `must be a ${what} name: letters, digits, "_", "." or "-"`);
const duration = z
  .union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)?$/)])
  .meta({ description: 'A duration: seconds as a number, or "500ms", "30s", "10m", "2h", "1d".' });
const cron = z.string().min(1).meta({ description: 'A cron expression, e.g. "0 2 * * *".' });
const modelRef = z
  .string()
  .regex(ALIAS_REF, 'must be "MODEL@ALIAS", e.g. "churn@production"')
  .meta({ description: 'A registered model followed by an alias, e.g. "churn@production".' });
const fraction = z.number().min(0).max(1);

export const datasetSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .meta({ description: "The file or folder, relative to the project, that is versioned." }),
    description: z.string().optional(),
  })
  .meta({ description: "A versioned dataset (loopml data add)." });

const metricRuleSchema = z.strictObject({
  metric: z.string().min(1),
  op: z.enum(["<=", "<", ">=", ">"]),
  factor: z
    .number()
    .optional()
    .meta({ description: "candidate.metric OP holder.metric × factor (default 1)." }),
  against: z
    .string()
    .optional()
    .meta({ description: "Whose value to beat; default the alias being promoted to." }),
  sameDatasetContext: z.string().optional(),
});

export const gateSchema = z
  .strictObject({
    metricRules: z.array(metricRuleSchema).optional(),
    schemaCompatible: z.boolean().optional(),
    approvalFor: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,100}$/)).optional(),
    protectedAliases: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,100}$/)).optional(),
  })
  .meta({ description: "The promotion gate a new version must pass before an alias moves to it." });

export const modelSchema = z.strictObject({
  description: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  gate: gateSchema.optional(),
});

/** Contract 3: what the deployment service stores. `replicas` and `protocols` feed the generated manifests. */
export const deploymentSchema = z.strictObject({
  model: modelRef,
  canary: z
    .strictObject({ model: modelRef, weight: fraction.meta({ description: "Share of traffic, 0–1." }) })
    .optional(),
  shadow: z.strictObject({ model: modelRef }).optional(),
  rollback: z
    .strictObject({ maxErrorRateDelta: z.number().min(0), maxP99Ratio: z.number().positive() })
    .optional(),
  logging: z
    .strictObject({
      sampleRate: fraction,
      retention: z
        .strictObject({
          maxAge: z
            .union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?\s*(s|m|h|d|w)$/)])
            .optional()
            .meta({ description: 'Prune logged batches older than this: seconds, or "36h", "7d", "2w".' }),
          maxRows: z
            .number()
            .int()
            .positive()
            .optional()
            .meta({ description: "Prune batches beyond the newest N rows of the model." }),
        })
        .optional()
        .meta({ description: "Inference-log retention; batches a monitor's window reads are kept." }),
    })
    .optional(),
  replicas: z.number().int().min(1).max(1000).optional(),
});

/** Contract 4's alert rule (src/monitoring/alert-rules.ts). */
export const alertRuleSchema = z.strictObject({
  when: z.string().min(1).meta({
    description:
      'The condition, e.g. "drift_share >= 0.3 for 2 consecutive windows" or "rmse > 1.2 * validation.rmse".',
  }),
  severity: z.enum(["info", "warning", "critical"]).optional(),
  sinks: z
    .array(
      z.union([
        z.strictObject({ type: z.literal("log") }),
        z.strictObject({ type: z.literal("webhook"), url: z.url(), allowPrivate: z.boolean().optional() }),
      ]),
    )
    .optional(),
});

export const monitorSchema = z.strictObject({
  deployment: z.string().optional(),
  model: z.string().optional(),
  dataset: z.string().optional(),
  reference: z
    .string()
    .regex(REFERENCE, 'must be "dataset:NAME@VERSION" (or @latest) or "run:RUN_ID"')
    .meta({ description: 'What "no drift" looks like: "dataset:NAME@VERSION" or "run:RUN_ID".' }),
  window: z.strictObject({ rows: z.number().int().positive().optional(), span: z.string().optional() }),
  tests: z.record(z.string(), z.string()).optional(),
  driftShare: fraction.optional(),
  schedule: cron.optional(),
  alerts: z.array(alertRuleSchema).optional(),
  target: z
    .string()
    .optional()
    .meta({ description: "The label column, for prediction drift and performance." }),
  columns: z.array(z.string()).optional(),
  thresholds: z.record(z.string(), z.number()).optional(),
  minRows: z.number().int().positive().optional(),
  task: z.enum(["classification", "regression"]).optional(),
});

const scheduleSchema = z.strictObject({ pipeline: z.string(), cron, timezone: z.string().optional() });
const triggerSchema = z.strictObject({
  pipeline: z.string(),
  on: z.union([
    z.strictObject({ dataset: z.string() }),
    z.strictObject({ model: z.string(), event: z.string().optional() }),
    z.strictObject({ monitor: z.string() }),
    z.strictObject({ event: z.string(), target: z.string().optional() }),
  ]),
});

export const retrainSchema = z
  .strictObject({
    on: z
      .strictObject({
        monitors: z
          .array(z.string())
          .optional()
          .meta({ description: "Retrain when one of these monitors alerts." }),
        schedule: cron.optional(),
        timezone: z.string().optional(),
      })
      .meta({ description: "What starts a retrain." }),
    pipeline: z
      .string()
      .optional()
      .meta({ description: "A pipeline of this file that trains; else AutoML." }),
    artifact: z
      .string()
      .optional()
      .meta({ description: "With pipeline: the model file (loopml GBDT/AutoML JSON) the pipeline writes." }),
    target: z.string().optional().meta({ description: "The label column (default: automl.target)." }),
    automl: z
      .strictObject({
        target: z.string(),
        task: z.enum(["binary", "multiclass", "regression"]).optional(),
        metric: z.string().optional(),
        timeBudget: duration.optional(),
        maxTrials: z.number().int().positive().optional(),
      })
      .optional(),
    data: z.strictObject({
      dataset: z.string(),
      window: z
        .strictObject({
          rows: z.number().int().positive().optional(),
          span: duration.optional(),
          timeColumn: z.string().optional(),
        })
        .optional()
        .meta({ description: "The newest rows (or time span) of the latest version to train on." }),
    }),
    holdout: fraction
      .optional()
      .meta({ description: "Share of the window held out for champion vs candidate (default 0.2)." }),
    metric: z
      .string()
      .optional()
      .meta({ description: 'Compared on the holdout, higher is better unless "rmse"/"logloss"/"mae".' }),
    promote: z
      .strictObject({
        to: z.string().optional(),
        minImprovement: z.number().optional(),
        canary: z.strictObject({ deployment: z.string(), weight: fraction, bake: duration }).optional(),
      })
      .optional(),
    cooldown: duration.optional(),
    budget: z.strictObject({ maxRuns: z.number().int().positive(), per: duration }).optional(),
  })
  .meta({ description: "Continuous training for one registered model." });

export const loopmlFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    project: z.string().optional(),
    store: z.strictObject({ metadata: z.string().optional(), artifacts: z.string().optional() }).optional(),
    datasets: z.record(name("dataset"), datasetSchema).optional(),
    pipelines: z
      .record(name("pipeline"), z.record(z.string(), z.unknown()))
      .optional()
      .meta({ description: "Pipelines of stages (run, deps, params, outs, metrics…), like dvc.yaml." }),
    models: z.record(name("model"), modelSchema).optional(),
    deployments: z.record(name("deployment"), deploymentSchema).optional(),
    monitors: z.record(name("monitor"), monitorSchema).optional(),
    schedules: z.record(name("schedule"), scheduleSchema).optional(),
    triggers: z.record(name("trigger"), triggerSchema).optional(),
    retrain: z.record(name("model"), retrainSchema).optional(),
  })
  .meta({ title: "loopml.yaml", description: "The desired state of a loopml project." });

export type LoopmlFile = z.infer<typeof loopmlFileSchema>;
export type DatasetDecl = z.infer<typeof datasetSchema>;
export type ModelDecl = z.infer<typeof modelSchema>;
export type DeploymentDecl = z.infer<typeof deploymentSchema>;
export type MonitorDecl = z.infer<typeof monitorSchema>;
export type RetrainDecl = z.infer<typeof retrainSchema>;

/** The validated file plus the sections other modules parse (pipelines, schedules and triggers). */
export interface DesiredState {
  readonly file: LoopmlFile;
  readonly pipelines: ReadonlyMap<string, PipelineSpec>;
  readonly automation: Automation;
}

/**
 * Validates a loopml.yaml text; errors name the file, line and key path, e.g.
 * `loopml.yaml:12 deployments.web.canary.weight: Too big: expected number to be <=1`.
 * @example
 * const desired = parseDesiredState(readFileSync("loopml.yaml", "utf8"));
 * Object.keys(desired.file.deployments ?? {});
 */
export function parseDesiredState(text: string, file = "loopml.yaml"): DesiredState {
  const { root, where } = readYaml(text, file);
  const parsed = loopmlFileSchema.safeParse(root);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${where(keyPath(i))}: ${issueMessage(i)}`);
    throw new LoopmlError("INVALID_ARGUMENT", issues.join("\n"), {
      issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
    });
  }
  const pipelines = parsePipelinesYaml(text, file);
  const automation = parseAutomationYaml(text, file);
  checkReferences(parsed.data, pipelines, where);
  return { file: parsed.data, pipelines, automation };
}

/** The JSON Schema editors use (yaml-language-server), generated from the same zod types. */
export function desiredStateJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(loopmlFileSchema, { io: "input", target: "draft-2020-12" }),
    $id: "https://loopml.dev/schema/loopml.schema.json",
  };
}

function keyPath(issue: z.core.$ZodIssue): (string | number)[] {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  // An unknown key is reported at its parent by zod: point at the key itself.
  if (issue.code === "unrecognized_keys" && issue.keys.length > 0) return [...path, issue.keys[0] ?? ""];
  return path;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") return `unknown key "${issue.keys.join('", "')}".`;
  return issue.message;
}

/** Cross-references zod cannot see: names that must exist elsewhere in the file. */
function checkReferences(
  f: LoopmlFile,
  pipelines: ReadonlyMap<string, PipelineSpec>,
  where: (path: readonly (string | number)[]) => string,
): void {
  const fail = (path: (string | number)[], message: string): never => {
    throw new LoopmlError("INVALID_ARGUMENT", `${where(path)}: ${message}`, { path: path.join(".") });
  };
  const models = new Set(Object.keys(f.models ?? {}));
  const monitors = new Set(Object.keys(f.monitors ?? {}));
  const deployments = new Set(Object.keys(f.deployments ?? {}));
  const datasets = new Set(Object.keys(f.datasets ?? {}));
  for (const [n, d] of Object.entries(f.deployments ?? {})) {
    for (const [key, ref] of [
      ["model", d.model],
      ["canary", d.canary?.model],
      ["shadow", d.shadow?.model],
    ] as const) {
      const model = ref?.split("@")[0];
      if (model !== undefined && models.size > 0 && !models.has(model))
        fail(
          ["deployments", n, key],
          `model "${model}" is not declared under models: (${[...models].join(", ")}).`,
        );
    }
  }
  for (const [n, m] of Object.entries(f.monitors ?? {})) {
    if (m.deployment === undefined && m.model === undefined && m.dataset === undefined)
      fail(["monitors", n], "needs one of deployment:, model: or dataset: (what it watches).");
    if (m.deployment !== undefined && !deployments.has(m.deployment))
      fail(["monitors", n, "deployment"], `deployment "${m.deployment}" is not declared under deployments:.`);
    if (m.window.rows === undefined && m.window.span === undefined)
      fail(["monitors", n, "window"], "needs rows: (the last N predictions) or span: (e.g. 1h).");
  }
  for (const [model, r] of Object.entries(f.retrain ?? {})) {
    const path = ["retrain", model];
    if (models.size > 0 && !models.has(model)) fail(path, `model "${model}" is not declared under models:.`);
    if (r.pipeline === undefined && r.automl === undefined)
      fail(path, "needs pipeline: (a pipeline of this file) or automl: { target: COLUMN }.");
    if (
      r.pipeline !== undefined &&
      (r.artifact === undefined || (r.target ?? r.automl?.target) === undefined)
    )
      fail(
        path,
        "with pipeline: also needs artifact: (the model file it writes) and target: (the label column).",
      );
    if (r.pipeline !== undefined && !pipelines.has(r.pipeline))
      fail([...path, "pipeline"], `pipeline "${r.pipeline}" is not declared under pipelines:.`);
    if (datasets.size > 0 && !datasets.has(r.data.dataset))
      fail([...path, "data", "dataset"], `dataset "${r.data.dataset}" is not declared under datasets:.`);
    (r.on.monitors ?? []).forEach((mon, i) => {
      if (!monitors.has(mon))
        fail([...path, "on", "monitors", i], `monitor "${mon}" is not declared under monitors:.`);
    });
    if (r.on.monitors === undefined && r.on.schedule === undefined)
      fail([...path, "on"], "needs monitors: [NAME…] or schedule: CRON (or both).");
    if (r.on.schedule !== undefined) {
      try {
        parseCron(r.on.schedule, r.on.timezone ?? "UTC");
      } catch (e) {
        fail([...path, "on", "schedule"], (e as Error).message);
      }
    }
    const canary = r.promote?.canary;
    if (canary && !deployments.has(canary.deployment))
      fail(
        [...path, "promote", "canary", "deployment"],
        `deployment "${canary.deployment}" is not declared.`,
      );
  }
}

/** Milliseconds of a duration from the file (also accepts days, which pipeline timeouts do not). */
export function durationMs(v: number | string): number {
  if (typeof v === "string" && /d$/.test(v.trim())) return Number(v.trim().slice(0, -1)) * 86_400_000;
  const ms = parseDuration(v);
  if (ms === undefined)
    throw new LoopmlError("INVALID_ARGUMENT", `"${v}" is not a duration (e.g. 30s, 10m, 2h, 1d).`);
  return ms;
}
