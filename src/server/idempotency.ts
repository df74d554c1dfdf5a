// Idempotency-Key on POST requests: a retry after a lost answer gets the first answer again, never a second object.
import { createHash, randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { LoopmlError } from "../errors.ts";
import type { Database } from "../store/schema.ts";
import { beforeCommit } from "../store/transaction.ts";
import type { Workspace } from "../workspace.ts";

export const IDEMPOTENCY_HEADER = "idempotency-key";
/** Answers replayed from a stored response carry this header. */
export const REPLAYED_HEADER = "idempotent-replayed";
/** How long a key and its answer are kept. */
export const KEY_TTL_MS = 24 * 3600_000;
/**
 * An attempt not applied within this time is presumed dead (its server crashed) and may be taken over.
 * Short on purpose: a slow attempt that is still alive is fenced out when it tries to commit, so a
 * takeover costs work, never a duplicate.
 */
export const LEASE_MS = 10_000;

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;
const SWEEP_EVERY_MS = 10 * 60_000;

export interface Attempt {
  readonly actor: string;
  readonly key: string;
  readonly owner: string;
  applied: boolean;
}

type Row = Database["idempotency_keys"];

/**
 * How it stays exactly-once through a kill -9: the key row is inserted (pending) before the handler
 * runs; every write transaction of the handler marks it applied before its COMMIT, fenced by the
 * attempt's owner token; the answer is stored before it is sent. So a retry finds either a stored
 * answer (replayed), an applied key without an answer (409: it happened, look it up), or a pending
 * key: in flight (409, retry shortly) or, after LEASE_MS, abandoned by a crash and taken over.
 *
 * @example
 * curl -X POST -H "Idempotency-Key: 6f1c…" -d '{"experiment":"churn"}' http://127.0.0.1:5000/api/v1/runs
 */
export function registerIdempotency(app: FastifyInstance, ws: Workspace): void {
  const db = ws.store.db;
  const attempts = new WeakMap<FastifyRequest, Attempt>();
  let lastSweep = 0;

  app.addHook("preHandler", (req, reply, done) => {
    const header = req.headers[IDEMPOTENCY_HEADER];
    if (req.method !== "POST" || header === undefined || req.principal === null) {
      done();
      return;
    }
    begin(req, reply, typeof header === "string" ? header : (header[0] ?? "")).then(
      (attempt) => {
        if (attempt === undefined) return; // answered already (replayed or refused)
        attempts.set(req, attempt);
        // The handler and everything it awaits run in this context: its transactions mark the key applied.
        beforeCommit.run((tx) => markApplied(tx, attempt), done);
      },
      (e: unknown) => done(e as Error),
    );
  });

  app.addHook("onSend", async (req, reply, payload) => {
    const attempt = attempts.get(req);
    if (attempt === undefined) return payload;
    attempts.delete(req);
    const text =
      typeof payload === "string" ? payload : Buffer.isBuffer(payload) ? payload.toString("utf8") : null;
    if (attempt.applied && text !== null) {
      const type = reply.getHeader("content-type");
      const stored = await db
        .updateTable("idempotency_keys")
        .set({
          status: reply.statusCode,
          response: text,
          content_type: typeof type === "string" ? type : null,
        })
        .where("actor", "=", attempt.actor)
        .where("key", "=", attempt.key)
        .where("owner", "=", attempt.owner)
        .where("applied", "=", 1)
        .executeTakeFirst();
      if (Number(stored.numUpdatedRows) === 1) return payload;
    }
    if (!attempt.applied) {
      // Nothing was written (a refusal, a read-only POST, a rolled-back transaction): a retry may run it afresh.
      await db
        .deleteFrom("idempotency_keys")
        .where("actor", "=", attempt.actor)
        .where("key", "=", attempt.key)
        .where("owner", "=", attempt.owner)
        .where("applied", "=", 0)
        .execute();
    }
    return payload;
  });

  async function begin(req: FastifyRequest, reply: FastifyReply, key: string): Promise<Attempt | undefined> {
    if (!KEY_FORMAT.test(key)) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        "The Idempotency-Key header must be 1 to 255 visible ASCII characters (a UUID is a good choice).",
      );
    }
    const actor = req.principal.actor;
    const fingerprint = fingerprintOf(req);
    const now = ws.clock.now();
    await sweep(now);
    for (let tries = 0; tries < 3; tries++) {
      const owner = randomBytes(16).toString("hex");
      const inserted = await db
        .insertInto("idempotency_keys")
        .values({
          actor,
          key,
          fingerprint,
          owner,
          started_at: now,
          applied: 0,
          status: null,
          response: null,
          content_type: null,
          created_at: now,
        })
        .onConflict((c) => c.columns(["actor", "key"]).doNothing())
        .returning("owner")
        .executeTakeFirst();
      if (inserted !== undefined) return { actor, key, owner, applied: false };

      const row = await db
        .selectFrom("idempotency_keys")
        .selectAll()
        .where("actor", "=", actor)
        .where("key", "=", key)
        .executeTakeFirst();
      if (row === undefined) continue; // removed in between: insert again
      if (row.created_at < now - KEY_TTL_MS) {
        await remove(row);
        continue;
      }
      if (row.fingerprint !== fingerprint) {
        // 422, as the IETF Idempotency-Key draft says: the same key was used for another request.
        await reply
          .status(422)
          .send(
            new LoopmlError(
              "INVALID_ARGUMENT",
              `Idempotency-Key "${key}" was already used for a different request (method, path or body differ). Use a new key for a new request.`,
              { key },
            ).toJSON(),
          );
        return undefined;
      }
      if (row.status !== null && row.response !== null) {
        await reply
          .status(row.status)
          .header(REPLAYED_HEADER, "true")
          .type(row.content_type ?? "application/json; charset=utf-8")
          .send(row.response);
        return undefined;
      }
      if (row.applied === 1) {
        throw new LoopmlError(
          "CONFLICT",
          `The request with Idempotency-Key "${key}" was carried out, but the server stopped before it could answer. Do not send it again: look the result up (list the runs or versions it created).`,
          { key, applied: true },
        );
      }
      if (row.started_at > now - LEASE_MS) {
        void reply.header("retry-after", "1");
        throw new LoopmlError(
          "CONFLICT",
          `A request with Idempotency-Key "${key}" is still being processed. Retry in a moment to get its answer.`,
          { key, inProgress: true },
        );
      }
      // Pending for longer than any request takes: its server died before writing anything. Take it over;
      // the old owner, should it still be alive, can no longer commit (markApplied is fenced by owner).
      const taken = await db
        .updateTable("idempotency_keys")
        .set({ owner, started_at: now })
        .where("actor", "=", actor)
        .where("key", "=", key)
        .where("owner", "=", row.owner)
        .where("applied", "=", 0)
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) === 1) return { actor, key, owner, applied: false };
    }
    throw new LoopmlError(
      "CONFLICT",
      `Requests with Idempotency-Key "${key}" are racing; retry in a moment.`,
      { key, inProgress: true },
    );
  }

  async function remove(row: Row): Promise<void> {
    await db
      .deleteFrom("idempotency_keys")
      .where("actor", "=", row.actor)
      .where("key", "=", row.key)
      .where("owner", "=", row.owner)
      .execute();
  }

  async function sweep(now: number): Promise<void> {
    if (now - lastSweep < SWEEP_EVERY_MS) return;
    lastSweep = now;
    await db
      .deleteFrom("idempotency_keys")
      .where("created_at", "<", now - KEY_TTL_MS)
      .execute();
  }
}

/** Exported for tests: the fenced mark that every write transaction of an attempt makes before COMMIT. */
export async function markApplied(tx: Kysely<Database>, attempt: Attempt): Promise<void> {
  const r = await tx
    .updateTable("idempotency_keys")
    .set({ applied: 1 })
    .where("actor", "=", attempt.actor)
    .where("key", "=", attempt.key)
    .where("owner", "=", attempt.owner)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) {
    // Another attempt took the key over: this one must not write (its transaction rolls back).
    throw new LoopmlError(
      "CONFLICT",
      `Another request with Idempotency-Key "${attempt.key}" took over this one; its answer is the one that counts.`,
      { key: attempt.key },
    );
  }
  attempt.applied = true;
}

/** Method, path and body bytes: JSON bodies are compared as parsed, so the same bytes always match. */
function fingerprintOf(req: FastifyRequest): string {
  const hash = createHash("sha256").update(`${req.method} ${req.url}\n`);
  const body: unknown = req.body;
  if (Buffer.isBuffer(body)) hash.update(body);
  else hash.update(JSON.stringify(body ?? null));
  return hash.digest("hex");
}
