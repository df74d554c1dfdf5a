// Deployments: which model alias an endpoint serves, with its canary, shadow, rollback margins and logging; stored and audited.
import { canonicalJson } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import type { Workspace } from "../workspace.ts";
import { retentionAge, type LogRetention } from "./log-retention.ts";

/**
 * What one endpoint serves. Model references are "name@alias", so a promotion reaches the endpoint
 * without editing the deployment.
 */
export interface DeploymentSpec {
  name: string;
  /** "name@alias", e.g. "churn@production". */
  model: string;
  /** A second model answering `weight` (a share of traffic, 0–1) of the requests. */
  canary?: { model: string; weight: number };
  /** A model that gets a copy of every request; its answers are logged, never returned. */
  shadow?: { model: string };
  /**
   * Roll the canary back when its error rate exceeds the primary's by more than `maxErrorRateDelta`
   * (absolute, e.g. 0.02 = two points) or its p99 latency exceeds `maxP99Ratio` × the primary's.
   */
  rollback?: { maxErrorRateDelta: number; maxP99Ratio: number };
  /**
   * Share of predictions written to the inference log (0–1; default 1), and how long they are kept:
   * batches older than `maxAge` (seconds, or "30m", "24h", "7d", "2w") or beyond the newest `maxRows`
   * rows of the model are pruned by the server, except those a monitor's window still reads.
   */
  logging?: { sampleRate: number; retention?: { maxAge?: number | string; maxRows?: number } };
}

export interface DeploymentService {
  /** Every deployment, by name. */
  list(): Promise<DeploymentSpec[]>;
  /** NOT_FOUND when there is no such deployment. */
  get(name: string): Promise<DeploymentSpec>;
  /** Creates or replaces; storing the same spec again changes nothing and writes no audit event. */
  upsert(spec: DeploymentSpec): Promise<DeploymentSpec>;
  remove(name: string): Promise<void>;
}

/** Audit actions, all with target `deployment:NAME`; a server serving that deployment follows them. */
export const DEPLOYMENT_ACTIONS = ["deployment.create", "deployment.update", "deployment.remove"] as const;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const MODEL_REF_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}@[A-Za-z][A-Za-z0-9_-]{0,99}$/;

/**
 * @example
 * const deployments = createDeploymentService(ws);
 * await deployments.upsert({ name: "web", model: "churn@production",
 *   canary: { model: "churn@challenger", weight: 0.1 }, rollback: { maxErrorRateDelta: 0.02, maxP99Ratio: 1.5 } });
 */
export function createDeploymentService(
  ws: Pick<Workspace, "store" | "audit" | "clock" | "config">,
  ctx: { actor?: string } = {},
): DeploymentService {
  const actor = ctx.actor ?? ws.config.actor;
  const target = (name: string): string => `deployment:${name}`;

  return {
    async list() {
      const rows = await ws.store.db.selectFrom("deployments").select("spec").orderBy("name").execute();
      return rows.map((r) => JSON.parse(r.spec) as DeploymentSpec);
    },
    async get(name) {
      const row = await ws.store.db
        .selectFrom("deployments")
        .select("spec")
        .where("name", "=", name)
        .executeTakeFirst();
      if (!row) throw await notFound(name);
      return JSON.parse(row.spec) as DeploymentSpec;
    },
    async upsert(input) {
      const spec = parseDeploymentSpec(input);
      const text = canonicalJson(spec);
      await ws.store.transaction(async (tx) => {
        const now = ws.clock.now();
        const before = await tx
          .selectFrom("deployments")
          .select("spec")
          .where("name", "=", spec.name)
          .executeTakeFirst();
        if (before?.spec === text) return;
        if (before) {
          await tx
            .updateTable("deployments")
            .set({ spec: text, updated_at: now, updated_by: actor })
            .where("name", "=", spec.name)
            .execute();
        } else {
          await tx
            .insertInto("deployments")
            .values({
              name: spec.name,
              spec: text,
              created_at: now,
              updated_at: now,
              created_by: actor,
              updated_by: actor,
            })
            .execute();
        }
        await ws.audit.append(tx, {
          actor,
          action: before ? "deployment.update" : "deployment.create",
          target: target(spec.name),
          details: before ? { before: JSON.parse(before.spec) as unknown, spec } : { spec },
        });
      });
      return spec;
    },
    async remove(name) {
      const removed = await ws.store.transaction(async (tx) => {
        const before = await tx
          .selectFrom("deployments")
          .select("spec")
          .where("name", "=", name)
          .executeTakeFirst();
        // The error is built after the transaction: a read outside it would wait for it on SQLite.
        if (!before) return false;
        await tx.deleteFrom("deployments").where("name", "=", name).execute();
        await ws.audit.append(tx, {
          actor,
          action: "deployment.remove",
          target: target(name),
          details: { before: JSON.parse(before.spec) as unknown },
        });
        return true;
      });
      if (!removed) throw await notFound(name);
    },
  };

  async function notFound(name: string): Promise<LoopmlError> {
    const names = (await ws.store.db.selectFrom("deployments").select("name").orderBy("name").execute()).map(
      (r) => r.name,
    );
    return new LoopmlError(
      "NOT_FOUND",
      `There is no deployment "${name}"; deployments: ${names.length ? names.join(", ") : "none"}.`,
      { deployment: name },
    );
  }
}

/** Validates a spec (from JSON, YAML or code) and keeps only the known fields, so equal specs store equal text. */
export function parseDeploymentSpec(input: unknown): DeploymentSpec {
  const o = object(input, "A deployment");
  const name = o.name;
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    throw invalid(
      "name",
      `"${String(name)}" is not a deployment name: use 1–100 letters, digits, "_", "." or "-", starting with a letter or digit`,
    );
  }
  const where = (field: string): string => `deployment "${name}": ${field}`;
  const spec: DeploymentSpec = { name, model: modelRef(o.model, where("model")) };
  if (o.canary !== undefined) {
    const c = object(o.canary, where("canary"));
    const weight = c.weight;
    if (typeof weight !== "number" || !(weight >= 0 && weight <= 1)) {
      throw invalid(
        where("canary.weight"),
        `${String(weight)} is not a share of traffic between 0 and 1 (0.1 = 10%)`,
      );
    }
    spec.canary = { model: modelRef(c.model, where("canary.model")), weight };
  }
  if (o.shadow !== undefined) {
    spec.shadow = { model: modelRef(object(o.shadow, where("shadow")).model, where("shadow.model")) };
  }
  if (o.rollback !== undefined) {
    const r = object(o.rollback, where("rollback"));
    const delta = r.maxErrorRateDelta;
    const ratio = r.maxP99Ratio;
    if (typeof delta !== "number" || !(delta >= 0 && delta <= 1)) {
      throw invalid(
        where("rollback.maxErrorRateDelta"),
        `${String(delta)} is not an error-rate margin between 0 and 1`,
      );
    }
    if (typeof ratio !== "number" || !(ratio > 0) || !Number.isFinite(ratio)) {
      throw invalid(
        where("rollback.maxP99Ratio"),
        `${String(ratio)} is not a positive latency ratio (e.g. 1.5)`,
      );
    }
    spec.rollback = { maxErrorRateDelta: delta, maxP99Ratio: ratio };
  }
  if (o.logging !== undefined) {
    const logging = object(o.logging, where("logging"));
    const rate = logging.sampleRate;
    if (typeof rate !== "number" || !(rate >= 0 && rate <= 1)) {
      throw invalid(where("logging.sampleRate"), `${String(rate)} is not a sampling rate between 0 and 1`);
    }
    spec.logging = { sampleRate: rate };
    if (logging.retention !== undefined) {
      spec.logging.retention = retention(object(logging.retention, where("logging.retention")), where);
    }
  }
  return spec;
}

function retention(
  r: Record<string, unknown>,
  where: (field: string) => string,
): { maxAge?: number | string; maxRows?: number } {
  const out: { maxAge?: number | string; maxRows?: number } = {};
  if (r.maxAge !== undefined) {
    if (typeof r.maxAge !== "number" && typeof r.maxAge !== "string") {
      throw invalid(where("logging.retention.maxAge"), `${JSON.stringify(r.maxAge)} is not a duration`);
    }
    try {
      retentionAge(r.maxAge);
    } catch (e) {
      throw invalid(where("logging.retention.maxAge"), (e as Error).message.replace(/\.$/, ""));
    }
    // Kept as written, so that applying the same loopml.yaml again changes nothing.
    out.maxAge = r.maxAge;
  }
  if (r.maxRows !== undefined) {
    if (typeof r.maxRows !== "number" || !Number.isInteger(r.maxRows) || r.maxRows < 1) {
      throw invalid(
        where("logging.retention.maxRows"),
        `${JSON.stringify(r.maxRows)} is not a whole number of rows ≥ 1`,
      );
    }
    out.maxRows = r.maxRows;
  }
  if (out.maxAge === undefined && out.maxRows === undefined) {
    throw invalid(where("logging.retention"), "set maxAge and/or maxRows");
  }
  return out;
}

/** The deployment's retention as the pruner takes it, or undefined when the log is kept whole. */
export function retentionOf(spec: DeploymentSpec): LogRetention | undefined {
  const r = spec.logging?.retention;
  if (!r) return undefined;
  return {
    ...(r.maxAge !== undefined && { maxAgeMs: retentionAge(r.maxAge) }),
    ...(r.maxRows !== undefined && { maxRows: r.maxRows }),
  };
}

/** Splits "name@alias". */
export function splitModelRef(ref: string): { model: string; alias: string } {
  const at = ref.indexOf("@");
  return { model: ref.slice(0, at), alias: ref.slice(at + 1) };
}

function modelRef(value: unknown, field: string): string {
  if (typeof value !== "string" || !MODEL_REF_RE.test(value)) {
    throw invalid(
      field,
      `${JSON.stringify(value)} is not a model reference "name@alias" (e.g. "churn@production")`,
    );
  }
  return value;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new LoopmlError("INVALID_ARGUMENT", `${what} must be an object.`);
  }
  return value as Record<string, unknown>;
}

function invalid(field: string, problem: string): LoopmlError {
  return new LoopmlError("INVALID_ARGUMENT", `${field}: ${problem}.`, { field });
}
