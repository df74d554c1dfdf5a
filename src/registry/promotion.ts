// Gated promotion: evaluate the gate against the current holders, then move the alias, queue it for approval, or refuse.
import type { Kysely } from "kysely";
import { canonicalJson } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import type { Database } from "../store/types.ts";
import { emitSafely } from "./events.ts";
import { evaluateGate } from "./gates.ts";
import {
  aliasesOfModel,
  loadVersion,
  auditRefusedMove,
  checkExpectedHolder,
  modelFromRow,
  moveAlias,
  promotionFromRow,
  requireModel,
} from "./rows.ts";
import type { RegistryDeps } from "./service.ts";
import { checkLatency } from "./latency.ts";
import type {
  AliasMove,
  GateReport,
  ModelVersion,
  Promotion,
  PromoteResult,
  Role,
  RuleResult,
} from "./types.ts";

export interface PromoteOptions {
  readonly to: string;
  /** Move even when the gate fails or approval is required: admin only, audited as forced. */
  readonly force?: boolean;
  readonly reason?: string;
  /**
   * The version the caller saw holding the alias (null: none). When another promotion moved it
   * meanwhile, this one fails with CONFLICT (and is audited as such) instead of overwriting it.
   */
  readonly expect?: number | null;
}

export interface PromotionOps {
  /** Runs the gate; moves the alias, or records a pending promotion, or refuses with FAILED_PRECONDITION listing the failed rules. */
  promote(model: string, version: number, options: PromoteOptions): Promise<PromoteResult>;
  /** An approver accepts (moves the alias, after re-running the gate) or rejects a pending promotion. */
  decide(id: string, decision: { approve: boolean; reason?: string }): Promise<Promotion>;
  listPromotions(model?: string, status?: Promotion["status"]): Promise<Promotion[]>;
  /** The gate's verdict without moving anything. */
  checkGate(model: string, version: number, alias: string): Promise<GateReport>;
}

async function gateIn(
  tx: Kysely<Database>,
  model: string,
  version: number,
  alias: string,
  measured: readonly RuleResult[] = [],
): Promise<{
  report: GateReport;
  candidate: ModelVersion;
  needsApproval: boolean;
}> {
  const m = modelFromRow(await requireModel(tx, model), {});
  const candidate = await loadVersion(tx, model, version);
  const aliases = await aliasesOfModel(tx, model);
  const wanted = new Set([alias, ...m.policy.metricRules.map((r) => r.against ?? alias)]);
  const holders = new Map<string, ModelVersion>();
  for (const a of wanted) {
    const v = aliases[a];
    if (v !== undefined) holders.set(a, await loadVersion(tx, model, v));
  }
  const evaluated = evaluateGate(candidate, alias, m.policy, holders);
  const rules = [...evaluated.rules, ...measured];
  return {
    report: { passed: rules.every((r) => r.passed), rules },
    candidate,
    needsApproval: m.policy.approvalFor.includes(alias),
  };
}

function refusal(model: string, version: number, alias: string, report: GateReport): LoopmlError {
  const failed = report.rules.filter((r) => !r.passed);
  return new LoopmlError(
    "FAILED_PRECONDITION",
    `Promotion of "${model}" v${version} to @${alias} refused by its gate: ${failed.map((r) => `${r.rule} (${r.detail})`).join("; ")}. An admin may override with --force.`,
    { model, version, alias, failed },
  );
}

export function createPromotionOps(deps: RegistryDeps, ctx: { actor: string; role: Role }): PromotionOps {
  const { store, audit, clock, ids, events } = deps;
  const { actor, role } = ctx;

  /**
   * Rules that need the model itself (the latency budget) run before the transaction: loading and
   * timing a model is slow, and a transaction may be re-run.
   */
  async function measuredRules(model: string, version: number): Promise<RuleResult[]> {
    const m = modelFromRow(await requireModel(store.db, model), {});
    if (m.policy.latencyBudget === undefined) return [];
    const candidate = await loadVersion(store.db, model, version);
    return [await checkLatency(deps.blobs, candidate, m.policy.latencyBudget)];
  }

  async function promote(model: string, version: number, opts: PromoteOptions): Promise<PromoteResult> {
    const alias = opts.to;
    if (opts.force && role !== "admin") {
      throw new LoopmlError("PERMISSION_DENIED", `--force needs the admin role (you are ${role}).`, { role });
    }
    if (role === "viewer")
      throw new LoopmlError(
        "PERMISSION_DENIED",
        "Promoting needs the editor role or above (you are viewer).",
      );
    const measured = await measuredRules(model, version);
    const result = await store
      .transaction(async (tx): Promise<PromoteResult> => {
        // Checked before the gate: a gate weighed against a holder the caller did not see says nothing.
        await checkExpectedHolder(tx, model, alias, opts.expect);
        return promoteIn(tx, model, version, opts, measured);
      })
      .catch(async (e: unknown) => {
        await auditRefusedMove(store, audit, { actor, action: "model.promote", model, alias, version }, e);
        throw e;
      });
    if (result.status === "moved") emitSafely(events, "alias.moved", result.move);
    else emitSafely(events, "promotion.pending", result.promotion);
    return result;
  }

  async function promoteIn(
    tx: Kysely<Database>,
    model: string,
    version: number,
    opts: PromoteOptions,
    measured: readonly RuleResult[],
  ): Promise<PromoteResult> {
    const alias = opts.to;
    const { report, needsApproval } = await gateIn(tx, model, version, alias, measured);
    if (!report.passed && !opts.force) throw refusal(model, version, alias, report);
    if (needsApproval && !opts.force) {
      const row = {
        id: ids.next(),
        model,
        version,
        alias,
        status: "pending" as const,
        report: canonicalJson(report),
        requested_by: actor,
        requested_at: clock.now(),
        decided_by: null,
        decided_at: null,
        reason: opts.reason ?? null,
      };
      await tx.insertInto("model_promotions").values(row).execute();
      await audit.append(tx, {
        actor,
        action: "model.promotion.request",
        target: `model:${model}@${alias}`,
        details: { promotion: row.id, version },
      });
      return { status: "pending", promotion: promotionFromRow(row) };
    }
    const move = await moveAlias(
      tx,
      audit,
      { model, alias, to: version, actor, at: clock.now(), id: ids.next(), forced: opts.force === true },
      {
        action: "model.promote",
        details: {
          version,
          gatePassed: report.passed,
          failed: report.rules.filter((r) => !r.passed).map((r) => r.rule),
          ...(opts.reason !== undefined && { reason: opts.reason }),
        },
      },
    );
    return { status: "moved", move, report, forced: opts.force === true };
  }

  async function decide(id: string, decision: { approve: boolean; reason?: string }): Promise<Promotion> {
    if (role !== "approver" && role !== "admin") {
      throw new LoopmlError(
        "PERMISSION_DENIED",
        `Deciding a promotion needs the approver role (you are ${role}).`,
        { role },
      );
    }
    let move: AliasMove | undefined;
    const pending = await store.db
      .selectFrom("model_promotions")
      .select(["model", "version"])
      .where("id", "=", id)
      .executeTakeFirst();
    const measured = decision.approve && pending ? await measuredRules(pending.model, pending.version) : [];
    const promotion = await store.transaction(async (tx) => {
      move = undefined;
      const row = await tx.selectFrom("model_promotions").selectAll().where("id", "=", id).executeTakeFirst();
      if (!row) {
        throw new LoopmlError(
          "NOT_FOUND",
          `Promotion "${id}" does not exist. List pending ones with loopml models show MODEL.`,
          { id },
        );
      }
      if (row.status !== "pending") {
        throw new LoopmlError(
          "FAILED_PRECONDITION",
          `Promotion ${id} was already ${row.status} by ${row.decided_by ?? "?"}.`,
          {
            id,
            status: row.status,
          },
        );
      }
      if (row.requested_by === actor && role !== "admin") {
        throw new LoopmlError(
          "PERMISSION_DENIED",
          `Promotion ${id} was requested by you: another approver must decide it.`,
        );
      }
      const now = clock.now();
      const status = decision.approve ? ("approved" as const) : ("rejected" as const);
      let report = JSON.parse(row.report) as GateReport;
      if (decision.approve) {
        // The champion may have changed since the request: the gate must still pass now.
        report = (await gateIn(tx, row.model, row.version, row.alias, measured)).report;
        if (!report.passed) throw refusal(row.model, row.version, row.alias, report);
        move = await moveAlias(
          tx,
          audit,
          {
            model: row.model,
            alias: row.alias,
            to: row.version,
            actor,
            at: now,
            id: ids.next(),
            forced: false,
          },
          {
            action: "model.promotion.approve",
            details: { promotion: id, version: row.version, requestedBy: row.requested_by },
          },
        );
      } else {
        await audit.append(tx, {
          actor,
          action: "model.promotion.reject",
          target: `model:${row.model}@${row.alias}`,
          details: { promotion: id, version: row.version, reason: decision.reason ?? null },
        });
      }
      const updated = {
        ...row,
        status,
        report: canonicalJson(report),
        decided_by: actor,
        decided_at: now,
        reason: decision.reason ?? row.reason,
      };
      await tx
        .updateTable("model_promotions")
        .set({ status, report: updated.report, decided_by: actor, decided_at: now, reason: updated.reason })
        .where("id", "=", id)
        .execute();
      return promotionFromRow(updated);
    });
    if (move) emitSafely(events, "alias.moved", move);
    else emitSafely(events, "promotion.rejected", promotion);
    return promotion;
  }

  return {
    promote,
    decide,
    listPromotions: async (model, status) => {
      let q = store.db.selectFrom("model_promotions").selectAll().orderBy("requested_at");
      if (model !== undefined) q = q.where("model", "=", model);
      if (status !== undefined) q = q.where("status", "=", status);
      return (await q.execute()).map(promotionFromRow);
    },
    checkGate: async (model, version, alias) =>
      (await gateIn(store.db, model, version, alias, await measuredRules(model, version))).report,
  };
}
