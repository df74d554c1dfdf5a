// Row ↔ value conversions and the shared in-transaction steps of the registry (lookups, the atomic alias move).
import type { Kysely } from "kysely";
import type { AuditService } from "../audit/service.ts";
import { LoopmlError } from "../errors.ts";
import type { Database, MetadataStore } from "../store/types.ts";
import { parsePolicy } from "./gates.ts";
import type { AliasMove, ModelVersion, Promotion, RegisteredModel } from "./types.ts";

export function modelFromRow(
  row: Database["registered_models"],
  aliases: Record<string, number>,
): RegisteredModel {
  return {
    name: row.name,
    description: row.description,
    tags: JSON.parse(row.tags) as Record<string, string>,
    policy: parsePolicy(JSON.parse(row.policy)),
    latestVersion: row.latest_version,
    aliases,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    createdBy: row.created_by,
  };
}

export function versionFromRow(row: Database["model_versions"], aliases: string[]): ModelVersion {
  return {
    model: row.model,
    version: row.version,
    blobId: row.blob_id,
    source: row.source,
    flavor: row.flavor as ModelVersion["flavor"],
    signature: row.signature === null ? null : (JSON.parse(row.signature) as ModelVersion["signature"]),
    metrics: JSON.parse(row.metrics) as Record<string, number>,
    runId: row.run_id,
    datasets: JSON.parse(row.datasets) as ModelVersion["datasets"],
    pipelineRun: row.pipeline_run,
    codeVersion: row.code_version,
    description: row.description,
    tags: JSON.parse(row.tags) as Record<string, string>,
    aliases,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    createdBy: row.created_by,
  };
}

export function promotionFromRow(row: Database["model_promotions"]): Promotion {
  return {
    id: row.id,
    model: row.model,
    version: row.version,
    alias: row.alias,
    status: row.status,
    report: JSON.parse(row.report) as Promotion["report"],
    requestedBy: row.requested_by,
    requestedAt: row.requested_at,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    reason: row.reason,
  };
}

export async function requireModel(
  db: Kysely<Database>,
  name: string,
): Promise<Database["registered_models"]> {
  const row = await db
    .selectFrom("registered_models")
    .selectAll()
    .where("name", "=", name)
    .executeTakeFirst();
  if (row) return row;
  const known = await db.selectFrom("registered_models").select("name").orderBy("name").limit(20).execute();
  throw new LoopmlError(
    "NOT_FOUND",
    `Model "${name}" is not registered.${known.length > 0 ? ` Registered models: ${known.map((k) => k.name).join(", ")}.` : " No model is registered yet."} List them with loopml models list.`,
    { model: name, known: known.map((k) => k.name) },
  );
}

export async function aliasesOfModel(db: Kysely<Database>, model: string): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom("model_aliases")
    .select(["alias", "version"])
    .where("model", "=", model)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.alias, r.version]));
}

export async function loadVersion(
  db: Kysely<Database>,
  model: string,
  version: number,
): Promise<ModelVersion> {
  const row = await db
    .selectFrom("model_versions")
    .selectAll()
    .where("model", "=", model)
    .where("version", "=", version)
    .executeTakeFirst();
  if (!row) {
    const m = await requireModel(db, model);
    throw new LoopmlError(
      "NOT_FOUND",
      `Model "${model}" has no version ${version} (latest is ${m.latest_version}). List them with loopml models show ${model}.`,
      { model, version, latest: m.latest_version },
    );
  }
  const aliases = await db
    .selectFrom("model_aliases")
    .select("alias")
    .where("model", "=", model)
    .where("version", "=", version)
    .orderBy("alias")
    .execute();
  return versionFromRow(
    row,
    aliases.map((a) => a.alias),
  );
}

/** The version an alias points at, or NOT_FOUND naming the aliases that exist. */
export async function resolveAlias(db: Kysely<Database>, model: string, alias: string): Promise<number> {
  await requireModel(db, model);
  const aliases = await aliasesOfModel(db, model);
  const v = aliases[alias];
  if (v !== undefined) return v;
  const names = Object.keys(aliases);
  throw new LoopmlError(
    "NOT_FOUND",
    `Model "${model}" has no alias "${alias}".${names.length > 0 ? ` Its aliases: ${names.map((n) => `@${n}`).join(", ")}.` : " It has no alias yet."}`,
    { model, alias, aliases: names },
  );
}

/**
 * The alias's current version; with `expect` (the holder the caller saw, null for unset) a
 * different holder is a CONFLICT, so that of two moves that saw the same holder only the first lands.
 */
export async function checkExpectedHolder(
  tx: Kysely<Database>,
  model: string,
  alias: string,
  expect: number | null | undefined,
): Promise<number | null> {
  const current = await tx
    .selectFrom("model_aliases")
    .select("version")
    .where("model", "=", model)
    .where("alias", "=", alias)
    .executeTakeFirst();
  const from = current?.version ?? null;
  if (expect !== undefined && expect !== from) {
    throw new LoopmlError(
      "CONFLICT",
      `@${alias} of "${model}" now points at ${from === null ? "nothing" : `v${from}`}, not ${expect === null ? "nothing" : `v${expect}`}: someone moved it meanwhile. Check and retry.`,
      { model, alias, expected: expect, current: from },
    );
  }
  return from;
}

/**
 * A move refused by its compare-and-set rolled back with its transaction: this records the attempt
 * on the audit trail in a transaction of its own, so that both sides of a race are on it.
 */
export async function auditRefusedMove(
  store: MetadataStore,
  audit: AuditService,
  attempt: { actor: string; action: string; model: string; alias: string; version: number | null },
  error: unknown,
): Promise<void> {
  if (!(error instanceof LoopmlError) || error.code !== "CONFLICT") return;
  const details = error.details as { expected?: number | null; current?: number | null } | undefined;
  if (details === undefined || !("current" in details)) return;
  await store.transaction((tx) =>
    audit.append(tx, {
      actor: attempt.actor,
      action: `${attempt.action}.conflict`,
      target: `model:${attempt.model}@${attempt.alias}`,
      details: { to: attempt.version, expected: details.expected ?? null, current: details.current ?? null },
    }),
  );
}

/**
 * Moves (or removes, when `to` is null) an alias with its history row and one audit event, all in `tx`.
 * `expect` turns a concurrent move into CONFLICT instead of silently overwriting it.
 */
export async function moveAlias(
  tx: Kysely<Database>,
  audit: AuditService,
  move: {
    model: string;
    alias: string;
    to: number | null;
    actor: string;
    at: number;
    id: string;
    forced: boolean;
  },
  event: { action: string; details?: Record<string, unknown>; expect?: number | null },
): Promise<AliasMove> {
  const from = await checkExpectedHolder(tx, move.model, move.alias, event.expect);
  if (move.to === null) {
    await tx
      .deleteFrom("model_aliases")
      .where("model", "=", move.model)
      .where("alias", "=", move.alias)
      .execute();
  } else {
    await tx
      .insertInto("model_aliases")
      .values({
        model: move.model,
        alias: move.alias,
        version: move.to,
        updated_at: move.at,
        updated_by: move.actor,
      })
      .onConflict((oc) =>
        oc
          .columns(["model", "alias"])
          .doUpdateSet({ version: move.to as number, updated_at: move.at, updated_by: move.actor }),
      )
      .execute();
  }
  await tx
    .insertInto("model_alias_history")
    .values({
      id: move.id,
      model: move.model,
      alias: move.alias,
      from_version: from,
      to_version: move.to,
      at: move.at,
      actor: move.actor,
      forced: move.forced ? 1 : 0,
    })
    .execute();
  await audit.append(tx, {
    actor: move.actor,
    action: event.action,
    target: `model:${move.model}@${move.alias}`,
    details: { from, to: move.to, forced: move.forced, ...event.details },
  });
  return {
    model: move.model,
    alias: move.alias,
    from,
    to: move.to,
    at: move.at,
    actor: move.actor,
    forced: move.forced,
  };
}
