// The retrain policy: train on the newest data, compare with the champion on the same fresh holdout, gate, and
// promote (directly or through a canary) or keep the champion and alert — each decision an audit event.
import type { Kysely } from "kysely";
import { canonicalJson } from "../_internal/hash.ts";
import { defaultMetric } from "../automl/metric.ts";
import type { MetricName } from "../automl/types.ts";
import { LoopmlError, toLoopmlError } from "../errors.ts";
import { columnNames, getColumn, takeRows, type Frame } from "../learn/frame.ts";
import { evaluateGate } from "../registry/gates.ts";
import type { RegistryService } from "../registry/service.ts";
import type { GateReport, ModelVersion, Signature } from "../registry/types.ts";
import type { Database } from "../store/types.ts";
import type { Workspace } from "../workspace.ts";
import type { DeploymentPort } from "./contracts.ts";
import { durationMs, type RetrainDecl } from "./desired-state.ts";
import { improvement, loadScorer, metricOn } from "./scorer.ts";
import { readWindow } from "./window.ts";

/** What a trainer hands back: a loopml model document (GBDT or AutoML JSON) and what it knows about it. */
export interface TrainedModel {
  readonly doc: unknown;
  readonly signature: Signature;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly runId?: string;
  readonly description?: string;
}

export interface TrainRequest {
  readonly model: string;
  readonly policy: RetrainDecl;
  readonly target: string;
  readonly train: Frame;
  /** NAME@SEQ the training rows came from. */
  readonly dataVersion: string;
  readonly metric: MetricName;
}

export type Trainer = (req: TrainRequest) => Promise<TrainedModel>;

export interface RetrainDeps {
  readonly ws: Workspace;
  readonly registry: RegistryService;
  readonly deployments: DeploymentPort;
  readonly trainer: Trainer;
  readonly actor?: string;
  /** A "running" retrain older than this is taken as crashed and no longer blocks (default 6 h). */
  readonly staleAfterMs?: number;
}

export interface RetrainCause {
  readonly kind: "monitor" | "schedule" | "manual";
  /** The monitor or schedule, and what it saw. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export type RetrainOutcome =
  | { readonly status: "skipped"; readonly reason: string }
  | {
      readonly status: "promoted" | "canary" | "rejected" | "pending-approval";
      readonly id: string;
      readonly candidate: number;
      readonly champion: number | null;
      readonly metric: MetricName;
      readonly candidateScore: number;
      readonly championScore: number | null;
      readonly reasons: readonly string[];
    }
  | { readonly status: "failed"; readonly id: string; readonly error: string };

export interface Retrainer {
  /** One retrain of `model` under its policy, unless a guard rail says no (then "skipped", audited). */
  retrain(model: string, policy: RetrainDecl, cause: RetrainCause): Promise<RetrainOutcome>;
  /** Finishes canaries whose bake period is over: promote if still serving, else record the rollback. */
  settleCanaries(): Promise<{ model: string; status: "promoted" | "rolled-back" }[]>;
}

const DEFAULT_HOLDOUT = 0.2;
const DEFAULT_STALE_MS = 6 * 3_600_000;
const CANARY_ALIAS = "challenger";

/**
 * @example
 * const r = createRetrainer({ ws, registry, deployments, trainer: automlTrainer() });
 * await r.retrain("flights-delay", desired.file.retrain["flights-delay"], { kind: "manual", detail: {} });
 */
export function createRetrainer(deps: RetrainDeps): Retrainer {
  const { ws, registry } = deps;
  const actor = deps.actor ?? ws.config.actor;
  const event = (tx: Kysely<Database>, model: string, action: string, details: Record<string, unknown>) =>
    ws.audit.append(tx, { actor, action: `retrain.${action}`, target: `model:${model}`, details });
  const record = (model: string, action: string, details: Record<string, unknown>) =>
    ws.store.transaction((tx) => event(tx, model, action, details));

  /** The guard rails and the in-flight lock, decided in one transaction so two processes cannot both start. */
  async function begin(
    model: string,
    policy: RetrainDecl,
    cause: RetrainCause,
  ): Promise<string | { reason: string }> {
    const now = ws.clock.now();
    return ws.store.transaction(async (tx) => {
      const recent = await tx
        .selectFrom("loop_retrains")
        .selectAll()
        .where("model", "=", model)
        .where("status", "!=", "skipped")
        .orderBy("started_at", "desc")
        .limit(1000)
        .execute();
      const staleAfter = deps.staleAfterMs ?? DEFAULT_STALE_MS;
      const inFlight = recent.find((r) => r.status === "running" && now - r.started_at < staleAfter);
      let reason: string | undefined;
      if (inFlight)
        reason = `a retrain of ${model} is already in flight (started ${iso(inFlight.started_at)})`;
      const last = recent[0];
      if (
        !reason &&
        policy.cooldown !== undefined &&
        last &&
        now - last.started_at < durationMs(policy.cooldown)
      )
        reason = `cooldown: the last retrain started ${iso(last.started_at)}, the policy waits ${String(policy.cooldown)}`;
      if (!reason && policy.budget) {
        const per = durationMs(policy.budget.per);
        const used = recent.filter((r) => now - r.started_at < per).length;
        if (used >= policy.budget.maxRuns)
          reason = `budget: ${used} retrains in the last ${String(policy.budget.per)} (at most ${policy.budget.maxRuns})`;
      }
      if (reason) {
        await event(tx, model, "skip", { reason, cause: cause.kind, ...cause.detail });
        return { reason };
      }
      const id = ws.ids.next();
      await tx
        .insertInto("loop_retrains")
        .values({
          id,
          model,
          status: "running",
          cause: canonicalJson(cause),
          started_at: now,
          finished_at: null,
          champion_version: null,
          candidate_version: null,
          outcome: null,
        })
        .execute();
      await event(tx, model, "start", { retrain: id, cause: cause.kind, ...cause.detail });
      return id;
    });
  }

  async function finish(
    id: string,
    status: string,
    fields: { champion?: number | null; candidate?: number; outcome: Record<string, unknown> },
    audit: { model: string; action: string; details: Record<string, unknown> }[],
  ): Promise<void> {
    await ws.store.transaction(async (tx) => {
      await tx
        .updateTable("loop_retrains")
        .set({
          status,
          finished_at: ws.clock.now(),
          champion_version: fields.champion ?? null,
          candidate_version: fields.candidate ?? null,
          outcome: canonicalJson(fields.outcome),
        })
        .where("id", "=", id)
        .execute();
      for (const a of audit) await event(tx, a.model, a.action, { retrain: id, ...a.details });
    });
  }

  async function retrain(model: string, policy: RetrainDecl, cause: RetrainCause): Promise<RetrainOutcome> {
    const started = await begin(model, policy, cause);
    if (typeof started !== "string") return { status: "skipped", reason: started.reason };
    const id = started;
    try {
      return await run(id, model, policy);
    } catch (e) {
      const err = toLoopmlError(e);
      await finish(id, "failed", { outcome: { error: err.message } }, [
        { model, action: "fail", details: { error: err.message } },
        {
          model,
          action: "alert",
          details: { severity: "critical", reasons: [`retrain failed: ${err.message}`] },
        },
      ]);
      return { status: "failed", id, error: err.message };
    }
  }

  async function run(id: string, model: string, policy: RetrainDecl): Promise<RetrainOutcome> {
    const target = policy.target ?? policy.automl?.target;
    if (target === undefined)
      throw new LoopmlError("INVALID_ARGUMENT", `retrain.${model} names no target column.`);
    const window = await readWindow(ws, policy.data.dataset, {
      ...(policy.data.window?.rows !== undefined && { rows: policy.data.window.rows }),
      ...(policy.data.window?.span !== undefined && { spanMs: durationMs(policy.data.window.span) }),
      ...(policy.data.window?.timeColumn !== undefined && { timeColumn: policy.data.window.timeColumn }),
    });
    const { train, holdout } = splitHoldout(window.frame, policy.holdout ?? DEFAULT_HOLDOUT);
    const task = isBinary(holdout, target) ? "binary" : "regression";
    const metric = (policy.metric ?? policy.automl?.metric ?? defaultMetric(task)) as MetricName;
    const alias = policy.promote?.to ?? "production";

    const trained = await deps.trainer({ model, policy, target, train, dataVersion: window.version, metric });
    const candidateScore = metricOn(loadScorer(trained.doc), holdout, target, metric);
    const champion = await championOf(model, alias);
    const championScore = champion
      ? metricOn(
          loadScorer(JSON.parse((await ws.blobs.getBytes(champion.blobId ?? "")).toString("utf8"))),
          holdout,
          target,
          metric,
        )
      : null;

    const blob = await ws.blobs.put(Buffer.from(JSON.stringify(trained.doc)));
    const holdoutRef = {
      dataset: policy.data.dataset,
      version: window.version.split("@")[1] ?? "",
      context: "holdout",
    };
    const candidate = await registry.createVersion(model, {
      blobId: blob.id,
      flavor: "native",
      signature: trained.signature,
      metrics: {
        ...trained.metrics,
        [metric]: candidateScore,
        holdout_rows: holdout.nRows,
        train_rows: train.nRows,
      },
      datasets: [{ ...holdoutRef, context: "training" }, holdoutRef],
      ...(trained.runId !== undefined && { runId: trained.runId }),
      description: trained.description ?? `retrained on the newest ${train.nRows} rows of ${window.version}`,
      tags: { retrain: id },
    });
    await record(model, "evaluate", {
      retrain: id,
      candidate: candidate.version,
      champion: champion?.version ?? null,
      metric,
      candidateScore,
      championScore,
      holdout: `${window.version}, newest ${holdout.nRows} rows`,
      trainRows: train.nRows,
    });

    const reasons: string[] = [];
    const minGain = policy.promote?.minImprovement ?? 0;
    if (championScore !== null && champion) {
      const gain = improvement(metric, candidateScore, championScore);
      if (gain < minGain || (gain <= 0 && minGain <= 0))
        reasons.push(
          `on the same holdout v${candidate.version} ${metric}=${fmt(candidateScore)} does not beat v${champion.version}'s ${fmt(championScore)}${minGain > 0 ? ` by ${minGain}` : ""}`,
        );
    }
    const gate = await gateWithFreshScores(model, candidate, alias, champion, metric, championScore);
    for (const r of gate.rules) if (!r.passed) reasons.push(`gate: ${r.rule} (${r.detail})`);
    const base = {
      id,
      candidate: candidate.version,
      champion: champion?.version ?? null,
      metric,
      candidateScore,
      championScore,
    };
    const outcome = { ...base, gate, reasons };
    if (reasons.length > 0) {
      await finish(
        id,
        "rejected",
        { champion: champion?.version ?? null, candidate: candidate.version, outcome },
        [
          {
            model,
            action: "reject",
            details: { candidate: candidate.version, champion: champion?.version ?? null, reasons },
          },
          { model, action: "alert", details: { severity: "warning", reasons } },
        ],
      );
      return { status: "rejected", ...base, reasons };
    }

    const canary = policy.promote?.canary;
    if (canary && champion) {
      await registry.setAlias(model, CANARY_ALIAS, candidate.version);
      const dep = (await deps.deployments.list()).find((d) => d.name === canary.deployment);
      if (!dep)
        throw new LoopmlError(
          "NOT_FOUND",
          `Deployment "${canary.deployment}" does not exist; apply loopml.yaml first.`,
        );
      await deps.deployments.upsert({
        ...dep,
        canary: { model: `${model}@${CANARY_ALIAS}`, weight: canary.weight },
      });
      const bakeUntil = ws.clock.now() + durationMs(canary.bake);
      await finish(
        id,
        "canary",
        {
          champion: champion.version,
          candidate: candidate.version,
          outcome: { ...outcome, bakeUntil, deployment: canary.deployment, alias },
        },
        [
          {
            model,
            action: "canary",
            details: {
              candidate: candidate.version,
              deployment: canary.deployment,
              weight: canary.weight,
              bakeUntil: iso(bakeUntil),
            },
          },
        ],
      );
      return { status: "canary", ...base, reasons: [] };
    }

    const moved = await moveAlias(model, alias, candidate.version, champion?.version ?? null);
    await finish(id, moved, { champion: champion?.version ?? null, candidate: candidate.version, outcome }, [
      {
        model,
        action: moved === "promoted" ? "promote" : "await-approval",
        details: {
          alias,
          from: champion?.version ?? null,
          to: candidate.version,
          metric,
          candidateScore,
          championScore,
        },
      },
    ]);
    return { status: moved, ...base, reasons: [] };
  }

  async function championOf(model: string, alias: string): Promise<ModelVersion | undefined> {
    const m = await registry.getModel(model);
    const v = m.aliases[alias];
    return v === undefined ? undefined : registry.getVersion(model, v);
  }

  /** The model's own gate, with the champion's metric replaced by its score on the fresh holdout. */
  async function gateWithFreshScores(
    model: string,
    candidate: ModelVersion,
    alias: string,
    champion: ModelVersion | undefined,
    metric: MetricName,
    championScore: number | null,
  ): Promise<GateReport> {
    const m = await registry.getModel(model);
    const holders = new Map<string, ModelVersion>();
    for (const a of new Set([alias, ...m.policy.metricRules.map((r) => r.against ?? alias)])) {
      const v = m.aliases[a];
      if (v === undefined) continue;
      const holder = v === champion?.version ? champion : await registry.getVersion(model, v);
      holders.set(
        a,
        holder === champion && championScore !== null
          ? {
              ...holder,
              metrics: { ...holder.metrics, [metric]: championScore },
              datasets: candidate.datasets,
            }
          : holder,
      );
    }
    return evaluateGate(candidate, alias, m.policy, holders);
  }

  /** Protected or approval-gated aliases go through the registry's promotion; others move compare-and-set. */
  async function moveAlias(
    model: string,
    alias: string,
    version: number,
    expect: number | null,
  ): Promise<"promoted" | "pending-approval"> {
    const m = await registry.getModel(model);
    if (m.policy.protectedAliases.includes(alias) || m.policy.approvalFor.includes(alias)) {
      const r = await registry.promote(model, version, {
        to: alias,
        reason: "retrain policy: won on the fresh holdout",
      });
      return r.status === "moved" ? "promoted" : "pending-approval";
    }
    await registry.setAlias(model, alias, version, { expect });
    return "promoted";
  }

  async function settleCanaries(): Promise<{ model: string; status: "promoted" | "rolled-back" }[]> {
    const rows = await ws.store.db
      .selectFrom("loop_retrains")
      .selectAll()
      .where("status", "=", "canary")
      .execute();
    const out: { model: string; status: "promoted" | "rolled-back" }[] = [];
    for (const row of rows) {
      const o = JSON.parse(row.outcome ?? "{}") as {
        bakeUntil?: number;
        deployment?: string;
        alias?: string;
      };
      if ((o.bakeUntil ?? 0) > ws.clock.now()) continue;
      const dep = (await deps.deployments.list()).find((d) => d.name === o.deployment);
      const stillServing = dep?.canary?.model === `${row.model}@${CANARY_ALIAS}`;
      const candidate = row.candidate_version ?? 0;
      if (stillServing && dep) {
        await moveAlias(row.model, o.alias ?? "production", candidate, row.champion_version);
        const { canary: _dropped, ...rest } = dep;
        await deps.deployments.upsert(rest);
        await finish(
          row.id,
          "promoted",
          { champion: row.champion_version, candidate, outcome: { ...o, baked: true } },
          [
            {
              model: row.model,
              action: "promote",
              details: {
                alias: o.alias ?? "production",
                from: row.champion_version,
                to: candidate,
                after: "clean canary bake",
              },
            },
          ],
        );
        out.push({ model: row.model, status: "promoted" });
      } else {
        await finish(row.id, "rolled-back", { champion: row.champion_version, candidate, outcome: o }, [
          {
            model: row.model,
            action: "alert",
            details: {
              severity: "warning",
              reasons: [`the canary of v${candidate} was rolled back before its bake period ended`],
            },
          },
        ]);
        out.push({ model: row.model, status: "rolled-back" });
      }
    }
    return out;
  }

  return { retrain, settleCanaries };
}

/** The newest `fraction` of the (time-ordered) window is the fresh holdout both models are scored on. */
export function splitHoldout(frame: Frame, fraction: number): { train: Frame; holdout: Frame } {
  const cut = Math.floor(frame.nRows * (1 - fraction));
  if (cut < 10 || frame.nRows - cut < 10)
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `The data window has ${frame.nRows} rows: too few to train and hold out.`,
    );
  const range = (a: number, b: number): Uint32Array => Uint32Array.from({ length: b - a }, (_, i) => a + i);
  return { train: takeRows(frame, range(0, cut)), holdout: takeRows(frame, range(cut, frame.nRows)) };
}

/** The columns a model trained on `frame` for `target` takes, as registry signature inputs. */
export function signatureOf(frame: Frame, target: string, exclude: readonly string[] = []): Signature {
  return {
    inputs: columnNames(frame)
      .filter((n) => n !== target && !exclude.includes(n))
      .map((name) => ({ name, type: getColumn(frame, name).kind === "numeric" ? "double" : "string" })),
    outputs: [{ name: target, type: "double" }],
  };
}

function isBinary(frame: Frame, target: string): boolean {
  const c = getColumn(frame, target);
  return c.kind === "numeric" && c.values.every((v) => v === 0 || v === 1 || Number.isNaN(v));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function fmt(v: number): string {
  return v.toFixed(4);
}
