// Explicit write transactions over one Kysely connection, shared by the SQL backends.
import { AsyncLocalStorage } from "node:async_hooks";
import { setTimeout as delay } from "node:timers/promises";
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.ts";

/**
 * Work that must commit with every write transaction started in the current async context, run
 * just before COMMIT (the HTTP server marks a request's idempotency key applied this way).
 */
export const beforeCommit = new AsyncLocalStorage<(tx: Kysely<Database>) => Promise<void>>();

/**
 * Runs fn in one transaction, retrying PostgreSQL serialization failures, so both backends give
 * the same guarantee: concurrent read-then-write transactions behave as if run one after another.
 * Kysely's own transaction() cannot say BEGIN IMMEDIATE, which SQLite needs so that a
 * read-then-write transaction takes the write lock up front instead of failing with SQLITE_BUSY
 * when another process wrote in between.
 */
export function createTransactionRunner(
  db: Kysely<Database>,
  beginStatement: "begin immediate" | "begin isolation level serializable",
): <T>(fn: (tx: Kysely<Database>) => Promise<T>) => Promise<T> {
  const once = <T>(fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> =>
    db.connection().execute(async (conn) => {
      await sql.raw(beginStatement).execute(conn);
      let result;
      try {
        result = await fn(conn);
        await beforeCommit.getStore()?.(conn);
      } catch (e) {
        await sql.raw("rollback").execute(conn);
        throw e;
      }
      await sql.raw("commit").execute(conn);
      return result;
    });
  return async (fn) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await once(fn);
      } catch (e) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(e)) throw e;
        await delay(Math.min(200, 2 ** attempt) * (0.5 + Math.random()));
      }
    }
  };
}

const MAX_ATTEMPTS = 12;

/** PostgreSQL aborts one of two conflicting serializable transactions (40001) or a deadlock victim (40P01); both are safe to re-run. */
function isRetryable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === "40001" || code === "40P01";
}
