// The append-only audit log: one event per mutating call, written in the caller's transaction.
import { sql, type Kysely } from "kysely";
import type { Clock } from "../_internal/clock.ts";
import { canonicalJson } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import type { Database, Dialect, MetadataStore } from "../store/types.ts";
import { GENESIS_HASH, eventHash } from "./chain.ts";
import type { AuditEvent, AuditEventInput, AuditVerification } from "./types.ts";

const VERIFY_PAGE = 5000;

export interface AuditQuery {
  readonly target?: string;
  /** Matches targets that start with this, e.g. "model:churn". */
  readonly targetPrefix?: string;
  readonly action?: string;
  readonly actor?: string;
  readonly afterSeq?: number;
  readonly limit?: number;
}

export interface AuditService {
  /**
   * Appends one event inside `tx`, which must be a transaction from `store.transaction`.
   * @example
   * await store.transaction(async (tx) => {
   *   await tx.insertInto("meta").values({ key: "k", value: "v" }).execute();
   *   await audit.append(tx, { actor: "local", action: "meta.set", target: "meta:k", details: { value: "v" } });
   * });
   */
  append(tx: Kysely<Database>, input: AuditEventInput): Promise<AuditEvent>;
  /** A one-event transaction, for changes that live outside the metadata store (e.g. a file written). */
  record(input: AuditEventInput): Promise<AuditEvent>;
  list(query?: AuditQuery): Promise<AuditEvent[]>;
  /** Walks the whole chain and reports the first event that is missing, altered or out of order. */
  verify(): Promise<AuditVerification>;
}

export function createAuditService(store: MetadataStore, clock: Clock): AuditService {
  async function append(tx: Kysely<Database>, input: AuditEventInput): Promise<AuditEvent> {
    validateInput(input);
    const head = await readHeadForUpdate(tx, store.dialect);
    const seq = head.seq + 1;
    const prevHash = head.hash;
    const ts = new Date(clock.now()).toISOString();
    const details = canonicalJson(input.details ?? {});
    const hash = eventHash({
      seq,
      ts,
      actor: input.actor,
      action: input.action,
      target: input.target,
      details,
      prevHash,
    });
    await tx
      .insertInto("audit_events")
      .values({
        seq,
        ts,
        actor: input.actor,
        action: input.action,
        target: input.target,
        details,
        prev_hash: prevHash,
        hash,
      })
      .execute();
    await tx.updateTable("audit_head").set({ seq, hash }).where("id", "=", 1).execute();
    return {
      seq,
      ts,
      actor: input.actor,
      action: input.action,
      target: input.target,
      details: input.details ?? {},
      prevHash,
      hash,
    };
  }

  async function list(query: AuditQuery = {}): Promise<AuditEvent[]> {
    let q = store.db.selectFrom("audit_events").selectAll().orderBy("seq", "asc");
    if (query.target !== undefined) q = q.where("target", "=", query.target);
    if (query.targetPrefix !== undefined) {
      q = q.where(sql<string>`substr(target, 1, ${query.targetPrefix.length})`, "=", query.targetPrefix);
    }
    if (query.action !== undefined) q = q.where("action", "=", query.action);
    if (query.actor !== undefined) q = q.where("actor", "=", query.actor);
    if (query.afterSeq !== undefined) q = q.where("seq", ">", query.afterSeq);
    const rows = await q.limit(query.limit ?? 1000).execute();
    return rows.map(fromRow);
  }

  async function verify(): Promise<AuditVerification> {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    for (;;) {
      const rows = await store.db
        .selectFrom("audit_events")
        .selectAll()
        .where("seq", ">=", expectedSeq)
        .orderBy("seq", "asc")
        .limit(VERIFY_PAGE)
        .execute();
      for (const row of rows) {
        const events = expectedSeq - 1;
        if (row.seq !== expectedSeq) return broken(events, expectedSeq, `event ${expectedSeq} is missing`);
        if (row.prev_hash !== prevHash)
          return broken(
            events,
            row.seq,
            `event ${row.seq} does not follow event ${row.seq - 1} (previous hash differs)`,
          );
        const recomputed = eventHash({ ...row, prevHash: row.prev_hash });
        if (recomputed !== row.hash)
          return broken(
            events,
            row.seq,
            `event ${row.seq} was altered after it was written (its hash does not match its content)`,
          );
        prevHash = row.hash;
        expectedSeq++;
      }
      if (rows.length < VERIFY_PAGE) break;
    }
    const count = expectedSeq - 1;
    const head = await store.db
      .selectFrom("audit_head")
      .select(["seq", "hash"])
      .where("id", "=", 1)
      .executeTakeFirst();
    const headSeq = head?.seq ?? 0;
    if (headSeq !== count || (head && head.hash !== prevHash)) {
      return broken(
        count,
        count + 1,
        `the chain ends at event ${count} but its head records event ${headSeq}: events were removed from the end`,
      );
    }
    return { ok: true, events: count, headHash: prevHash };
  }

  return {
    append,
    record: (input) => store.transaction((tx) => append(tx, input)),
    list,
    verify,
  };
}

function broken(events: number, brokenAt: number, reason: string): AuditVerification {
  return { ok: false, events, brokenAt, reason };
}

/**
 * SQLite's BEGIN IMMEDIATE already serialises writers. On PostgreSQL, FOR UPDATE on the head row
 * makes a concurrent appender wait, and then fail with a serialization error that the store's
 * transaction runner retries, so two events can never take the same sequence number.
 */
async function readHeadForUpdate(
  tx: Kysely<Database>,
  dialect: Dialect,
): Promise<{ seq: number; hash: string }> {
  const q = tx.selectFrom("audit_head").select(["seq", "hash"]).where("id", "=", 1);
  const head = await (dialect === "postgres" ? q.forUpdate() : q).executeTakeFirst();
  if (!head)
    throw new LoopmlError(
      "INTERNAL",
      "The audit chain head is missing: the store was altered outside loopml.",
    );
  return head;
}

function validateInput(input: AuditEventInput): void {
  for (const field of ["actor", "action", "target"] as const) {
    const v = input[field];
    if (typeof v !== "string" || v.length === 0 || v.length > 500) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `Audit event ${field} must be a non-empty string of at most 500 characters.`,
      );
    }
  }
}

function fromRow(row: Database["audit_events"]): AuditEvent {
  return {
    seq: row.seq,
    ts: row.ts,
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: JSON.parse(row.details) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
