// The model registry: registered models, versions with lineage, aliases with history, gated promotion, events.
import { canonicalJson } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import type { Workspace } from "../workspace.ts";
import { emitSafely, type RegistryEvents } from "./events.ts";
import { createRegistryEdits, type RegistryEdits } from "./edits.ts";
import { parsePolicy } from "./gates.ts";
import { createPromotionOps, type PromotionOps } from "./promotion.ts";
import {
  aliasesOfModel,
  loadVersion,
  modelFromRow,
  auditRefusedMove,
  moveAlias,
  requireModel,
  resolveAlias,
  versionFromRow,
} from "./rows.ts";
import {
  FLAVORS,
  type AliasMove,
  type DatasetRef,
  type Flavor,
  type GatePolicy,
  type Lineage,
  type ModelVersion,
  type RegisteredModel,
  type Role,
  type Signature,
} from "./types.ts";

export type RegistryDeps = Pick<Workspace, "store" | "blobs" | "audit" | "clock" | "ids" | "config"> & {
  readonly events: RegistryEvents;
};

export interface RegistryContext {
  readonly actor?: string;
  /** The caller's role; the CLI on a local store acts as admin. */
  readonly role?: Role;
}

export interface CreateVersionInput {
  readonly blobId?: string;
  /** Defaults to `blob:<blobId>`. */
  readonly source?: string;
  readonly flavor?: Flavor;
  readonly signature?: Signature;
  /** Defaults to the last value of every metric of `runId`. */
  readonly metrics?: Readonly<Record<string, number>>;
  readonly runId?: string;
  /** Defaults to the run's dataset inputs. */
  readonly datasets?: readonly DatasetRef[];
  readonly pipelineRun?: string;
  /** Defaults to the run's git commit (suffixed "-dirty" when the tree had changes). */
  readonly codeVersion?: string;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface RegistryService extends PromotionOps, RegistryEdits {
  readonly events: RegistryEvents;
  createModel(
    name: string,
    options?: { description?: string; tags?: Record<string, string>; policy?: unknown },
  ): Promise<RegisteredModel>;
  getModel(name: string): Promise<RegisteredModel>;
  listModels(): Promise<RegisteredModel[]>;
  setPolicy(name: string, policy: unknown): Promise<GatePolicy>;
  createVersion(model: string, input: CreateVersionInput): Promise<ModelVersion>;
  /** `ref` is a version number or an alias name. */
  getVersion(model: string, ref: number | string): Promise<ModelVersion>;
  listVersions(model: string): Promise<ModelVersion[]>;
  /** Points an unprotected alias at a version; `expect` makes it a compare-and-set. */
  setAlias(
    model: string,
    alias: string,
    version: number,
    options?: { expect?: number | null },
  ): Promise<AliasMove>;
  deleteAlias(model: string, alias: string): Promise<AliasMove>;
  aliasHistory(model: string, alias?: string): Promise<AliasMove[]>;
  lineage(model: string, ref: number | string): Promise<Lineage>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;
const ALIAS_RE = /^[A-Za-z][A-Za-z0-9_-]{0,99}$/;

export function checkAlias(alias: string): string {
  if (typeof alias !== "string" || !ALIAS_RE.test(alias) || alias === "latest" || /^v\d+$/.test(alias)) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Alias "${String(alias)}" is invalid: start with a letter, use letters, digits, "_" or "-", and avoid "latest" and v<number>.`,
    );
  }
  return alias;
}

/**
 * @example
 * const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
 * const v = await registry.createVersion("churn", { blobId, flavor: "native", runId });
 * await registry.promote("churn", v.version, { to: "production" });
 */
export function createRegistryService(deps: RegistryDeps, ctx: RegistryContext = {}): RegistryService {
  const { store, audit, clock, ids, events } = deps;
  const actor = ctx.actor ?? deps.config.actor;
  const role: Role = ctx.role ?? "admin";

  async function getModel(name: string): Promise<RegisteredModel> {
    const row = await requireModel(store.db, name);
    return modelFromRow(row, await aliasesOfModel(store.db, name));
  }

  async function createModel(
    name: string,
    opts: { description?: string; tags?: Record<string, string>; policy?: unknown } = {},
  ): Promise<RegisteredModel> {
    if (typeof name !== "string" || !NAME_RE.test(name)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Model name "${String(name)}" is invalid: use 1–200 letters, digits, "_", "." or "-", starting with a letter or digit.`,
      );
    }
    const policy = parsePolicy(opts.policy);
    const now = clock.now();
    const row = {
      name,
      description: opts.description ?? "",
      tags: canonicalJson(opts.tags ?? {}),
      policy: canonicalJson(policy),
      latest_version: 0,
      created_at: now,
      updated_at: now,
      created_by: actor,
    };
    await store.transaction(async (tx) => {
      const clash = await tx
        .selectFrom("registered_models")
        .select("name")
        .where("name", "=", name)
        .executeTakeFirst();
      if (clash)
        throw new LoopmlError("ALREADY_EXISTS", `Model "${name}" is already registered.`, { model: name });
      await tx.insertInto("registered_models").values(row).execute();
      await audit.append(tx, { actor, action: "model.create", target: `model:${name}`, details: { policy } });
    });
    return modelFromRow(row, {});
  }

  async function setPolicy(name: string, input: unknown): Promise<GatePolicy> {
    const policy = parsePolicy(input);
    if (role !== "admin") {
      throw new LoopmlError(
        "PERMISSION_DENIED",
        `Changing the promotion policy of "${name}" needs the admin role (you are ${role}).`,
      );
    }
    await store.transaction(async (tx) => {
      const before = await requireModel(tx, name);
      await tx
        .updateTable("registered_models")
        .set({ policy: canonicalJson(policy), updated_at: clock.now() })
        .where("name", "=", name)
        .execute();
      await audit.append(tx, {
        actor,
        action: "model.policy.set",
        target: `model:${name}`,
        details: { before: JSON.parse(before.policy) as unknown, after: policy },
      });
    });
    return policy;
  }

  async function versionRef(model: string, ref: number | string): Promise<number> {
    if (typeof ref === "number") return ref;
    if (/^\d+$/.test(ref)) return Number(ref);
    return resolveAlias(store.db, model, ref.replace(/^@/, ""));
  }

  async function createVersion(model: string, input: CreateVersionInput): Promise<ModelVersion> {
    if (input.flavor !== undefined && !FLAVORS.includes(input.flavor)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Flavor "${String(input.flavor)}" is not one of ${FLAVORS.join(", ")}.`,
      );
    }
    if (input.blobId !== undefined && !(await deps.blobs.has(input.blobId))) {
      throw new LoopmlError(
        "NOT_FOUND",
        `Blob ${input.blobId} is not in the blob store; store the model file first.`,
        {
          blobId: input.blobId,
        },
      );
    }
    if (input.blobId === undefined && input.source === undefined) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        "A model version needs an artifact: a blob id or a source URI.",
      );
    }
    for (const [k, v] of Object.entries(input.metrics ?? {})) {
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `Metric "${k}" of the version must be a finite number, not ${String(v)}.`,
        );
      }
    }
    const now = clock.now();
    const row = await store.transaction(async (tx) => {
      const m = await requireModel(tx, model);
      let metrics = input.metrics;
      let datasets = input.datasets;
      let codeVersion = input.codeVersion;
      if (input.runId !== undefined) {
        const run = await tx.selectFrom("runs").selectAll().where("id", "=", input.runId).executeTakeFirst();
        if (!run)
          throw new LoopmlError(
            "NOT_FOUND",
            `Run "${input.runId}" does not exist; a version can only cite a real run.`,
          );
        // Lineage comes from the run unless the caller says otherwise.
        if (metrics === undefined) {
          const rows = await tx
            .selectFrom("run_metric_summaries")
            .select(["key", "last_value", "last_is_nan"])
            .where("run_id", "=", run.id)
            .execute();
          metrics = Object.fromEntries(
            // JSON cannot hold NaN or ±Infinity, and no gate can compare them: only finite values count.
            rows
              .filter((r) => r.last_is_nan === 0 && Number.isFinite(Number(r.last_value)))
              .map((r) => [r.key, Number(r.last_value)]),
          );
        }
        if (datasets === undefined) {
          datasets = await tx
            .selectFrom("run_inputs")
            .select(["dataset", "version", "context"])
            .where("run_id", "=", run.id)
            .orderBy("dataset")
            .execute();
        }
        if (codeVersion === undefined && run.git_commit !== null) {
          codeVersion = `${run.git_commit}${run.git_dirty === 1 ? "-dirty" : ""}`;
        }
      }
      const version = m.latest_version + 1;
      const r = {
        model,
        version,
        blob_id: input.blobId ?? null,
        source: input.source ?? `blob:${input.blobId ?? ""}`,
        flavor: input.flavor ?? null,
        signature: input.signature ? canonicalJson(input.signature) : null,
        metrics: canonicalJson(metrics ?? {}),
        run_id: input.runId ?? null,
        datasets: canonicalJson(datasets ?? []),
        pipeline_run: input.pipelineRun ?? null,
        code_version: codeVersion ?? null,
        description: input.description ?? "",
        tags: canonicalJson(input.tags ?? {}),
        created_at: now,
        updated_at: now,
        created_by: actor,
      };
      await tx.insertInto("model_versions").values(r).execute();
      await tx
        .updateTable("registered_models")
        .set({ latest_version: version, updated_at: now })
        .where("name", "=", model)
        .execute();
      await audit.append(tx, {
        actor,
        action: "model.version.create",
        target: `model:${model}@${version}`,
        details: { blob: r.blob_id, source: r.source, run: r.run_id, flavor: r.flavor },
      });
      return r;
    });
    const v = versionFromRow(row, []);
    emitSafely(events, "version.created", v);
    return v;
  }

  async function setAlias(
    model: string,
    alias: string,
    version: number,
    opts: { expect?: number | null } = {},
  ): Promise<AliasMove> {
    checkAlias(alias);
    const move = await store
      .transaction(async (tx) => {
        const m = modelFromRow(await requireModel(tx, model), {});
        if (m.policy.protectedAliases.includes(alias)) {
          throw new LoopmlError(
            "FAILED_PRECONDITION",
            `@${alias} of "${model}" is protected: move it with loopml models promote ${model} ${version} --to ${alias}, which runs the promotion gate.`,
            { model, alias },
          );
        }
        await loadVersion(tx, model, version);
        return moveAlias(
          tx,
          audit,
          { model, alias, to: version, actor, at: clock.now(), id: ids.next(), forced: false },
          { action: "model.alias.move", ...(opts.expect !== undefined && { expect: opts.expect }) },
        );
      })
      .catch(async (e: unknown) => {
        await auditRefusedMove(store, audit, { actor, action: "model.alias.move", model, alias, version }, e);
        throw e;
      });
    emitSafely(events, "alias.moved", move);
    return move;
  }

  async function deleteAlias(model: string, alias: string): Promise<AliasMove> {
    const move = await store.transaction(async (tx) => {
      const m = modelFromRow(await requireModel(tx, model), {});
      await resolveAlias(tx, model, alias);
      if (m.policy.protectedAliases.includes(alias) && role !== "admin") {
        throw new LoopmlError(
          "PERMISSION_DENIED",
          `@${alias} of "${model}" is protected: only an admin can remove it.`,
        );
      }
      return moveAlias(
        tx,
        audit,
        { model, alias, to: null, actor, at: clock.now(), id: ids.next(), forced: false },
        { action: "model.alias.delete" },
      );
    });
    emitSafely(events, "alias.moved", move);
    return move;
  }

  async function lineage(model: string, ref: number | string): Promise<Lineage> {
    const v = await loadVersion(store.db, model, await versionRef(model, ref));
    const run = v.runId
      ? await store.db.selectFrom("runs").selectAll().where("id", "=", v.runId).executeTakeFirst()
      : undefined;
    const params = run
      ? await store.db
          .selectFrom("run_params")
          .select(["key", "value"])
          .where("run_id", "=", run.id)
          .execute()
      : [];
    const datasets = [];
    for (const d of v.datasets) {
      // `loopml data` numbers versions; the manifest blob id is the dataset version's content address.
      const dv = /^\d+$/.test(d.version)
        ? await store.db
            .selectFrom("dataset_versions")
            .select("id")
            .where("dataset", "=", d.dataset)
            .where("seq", "=", Number(d.version))
            .executeTakeFirst()
        : undefined;
      datasets.push({ ...d, blobId: dv?.id ?? null });
    }
    return {
      model,
      version: v.version,
      artifact: { blobId: v.blobId, source: v.source, flavor: v.flavor },
      codeVersion: v.codeVersion,
      pipelineRun: v.pipelineRun,
      run: run
        ? {
            id: run.id,
            experimentId: run.experiment_id,
            status: run.status,
            gitCommit: run.git_commit,
            gitDirty: run.git_dirty === null ? null : run.git_dirty === 1,
            params: Object.fromEntries(params.map((p) => [p.key, p.value])),
          }
        : null,
      datasets,
    };
  }

  const promotion = createPromotionOps(deps, { actor, role });

  return {
    ...createRegistryEdits(deps, actor),
    events,
    createModel,
    getModel,
    listModels: async () => {
      const rows = await store.db.selectFrom("registered_models").selectAll().orderBy("name").execute();
      const aliases = await store.db
        .selectFrom("model_aliases")
        .select(["model", "alias", "version"])
        .execute();
      return rows.map((r) =>
        modelFromRow(
          r,
          Object.fromEntries(aliases.filter((a) => a.model === r.name).map((a) => [a.alias, a.version])),
        ),
      );
    },
    setPolicy,
    createVersion,
    getVersion: async (model, ref) => loadVersion(store.db, model, await versionRef(model, ref)),
    listVersions: async (model) => {
      await requireModel(store.db, model);
      const rows = await store.db
        .selectFrom("model_versions")
        .selectAll()
        .where("model", "=", model)
        .orderBy("version")
        .execute();
      const aliases = await aliasesOfModel(store.db, model);
      return rows.map((r) =>
        versionFromRow(
          r,
          Object.entries(aliases)
            .filter(([, v]) => v === r.version)
            .map(([a]) => a),
        ),
      );
    },
    setAlias,
    deleteAlias,
    aliasHistory: async (model, alias) => {
      await requireModel(store.db, model);
      let q = store.db.selectFrom("model_alias_history").selectAll().where("model", "=", model);
      if (alias !== undefined) q = q.where("alias", "=", alias);
      const rows = await q.orderBy("at").orderBy("id").execute();
      return rows.map((r) => ({
        model: r.model,
        alias: r.alias,
        from: r.from_version,
        to: r.to_version,
        at: r.at,
        actor: r.actor,
        forced: r.forced === 1,
      }));
    },
    lineage,
    ...promotion,
  };
}
