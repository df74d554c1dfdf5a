// The metadata store contract suite: schema, transactions and the audit chain, run against every backend.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManualClock } from "../../_internal/clock.ts";
import { createAuditService } from "../../audit/service.ts";
import { isLoopmlError } from "../../errors.ts";
import { MIGRATION_NAMES } from "../migrations/index.ts";
import type { MetadataStore } from "../types.ts";

export interface MetadataContractOptions {
  /** A fresh, empty, migrated store; each call gets its own database. */
  create(): Promise<MetadataStore>;
  /** Reopens the same database as the last `create` (to check reopening and newer-schema refusal). */
  reopen(store: MetadataStore): Promise<MetadataStore>;
}

export function testMetadataStore(name: string, options: MetadataContractOptions): void {
  describe(`MetadataStore contract: ${name}`, () => {
    let store: MetadataStore;
    beforeAll(async () => {
      store = await options.create();
    });
    afterAll(async () => {
      await store.close();
    });

    it("applies every migration on open", async () => {
      expect(await store.schemaVersion()).toBe(MIGRATION_NAMES.length);
    });

    it("commits a transaction that resolves and rolls back one that throws", async () => {
      await store.transaction((tx) =>
        tx.insertInto("meta").values({ key: "committed", value: "1" }).execute(),
      );
      const err = await store
        .transaction(async (tx) => {
          await tx.insertInto("meta").values({ key: "rolled-back", value: "1" }).execute();
          throw new Error("boom");
        })
        .catch((e: unknown) => e);
      expect((err as Error).message).toBe("boom");
      const keys = (await store.db.selectFrom("meta").select("key").execute()).map((r) => r.key);
      expect(keys).toContain("committed");
      expect(keys).not.toContain("rolled-back");
    });

    it("serialises concurrent read-then-write transactions", async () => {
      await store.transaction((tx) => tx.insertInto("meta").values({ key: "counter", value: "0" }).execute());
      await Promise.all(
        Array.from({ length: 20 }, () =>
          store.transaction(async (tx) => {
            const row = await tx
              .selectFrom("meta")
              .select("value")
              .where("key", "=", "counter")
              .executeTakeFirstOrThrow();
            await tx
              .updateTable("meta")
              .set({ value: String(Number(row.value) + 1) })
              .where("key", "=", "counter")
              .execute();
          }),
        ),
      );
      const row = await store.db
        .selectFrom("meta")
        .select("value")
        .where("key", "=", "counter")
        .executeTakeFirstOrThrow();
      expect(row.value).toBe("20");
    });

    it("reopens an existing store without re-running migrations", async () => {
      const again = await options.reopen(store);
      try {
        expect(await again.schemaVersion()).toBe(MIGRATION_NAMES.length);
        const row = await again.db
          .selectFrom("meta")
          .select("value")
          .where("key", "=", "committed")
          .executeTakeFirst();
        expect(row?.value).toBe("1");
      } finally {
        await again.close();
      }
    });

    it("refuses a store written by a newer loopml", async () => {
      const s = await options.create();
      await s.db
        .insertInto("loopml_migration" as never)
        .values({ name: "9999-from-the-future", timestamp: new Date().toISOString() })
        .execute();
      const err = await options.reopen(s).catch((e: unknown) => e);
      await s.close();
      expect(isLoopmlError(err, "FAILED_PRECONDITION")).toBe(true);
      expect((err as Error).message).toMatch(/newer loopml/);
    });

    describe("audit chain", () => {
      it("appends events with a contiguous sequence and a verifiable chain", async () => {
        const s = await options.create();
        try {
          const audit = createAuditService(s, createManualClock());
          const a = await audit.record({
            actor: "alice",
            action: "dataset.create",
            target: "dataset:flights",
            details: { b: 2, a: 1 },
          });
          const b = await audit.record({ actor: "bob", action: "model.register", target: "model:churn@1" });
          expect([a.seq, b.seq]).toEqual([1, 2]);
          expect(b.prevHash).toBe(a.hash);
          expect(await audit.verify()).toEqual({ ok: true, events: 2, headHash: b.hash });
          expect((await audit.list({ targetPrefix: "model:" })).map((e) => e.seq)).toEqual([2]);
          expect((await audit.list({ actor: "alice" }))[0]?.details).toEqual({ a: 1, b: 2 });
        } finally {
          await s.close();
        }
      });

      it("writes the event in the caller's transaction: a rollback leaves no event", async () => {
        const s = await options.create();
        try {
          const audit = createAuditService(s, createManualClock());
          await s
            .transaction(async (tx) => {
              await audit.append(tx, { actor: "a", action: "x.create", target: "x:1" });
              throw new Error("change failed");
            })
            .catch(() => undefined);
          expect(await audit.list()).toEqual([]);
          expect(await audit.verify()).toMatchObject({ ok: true, events: 0 });
        } finally {
          await s.close();
        }
      });

      it("keeps one chain under concurrent appends", async () => {
        const s = await options.create();
        try {
          const audit = createAuditService(s, createManualClock());
          await Promise.all(
            Array.from({ length: 25 }, (_, i) =>
              audit.record({ actor: "w", action: "x.create", target: `x:${i}` }),
            ),
          );
          expect(await audit.verify()).toMatchObject({ ok: true, events: 25 });
        } finally {
          await s.close();
        }
      });

      it("detects an event edited, removed or appended behind the store's back", async () => {
        const s = await options.create();
        try {
          const audit = createAuditService(s, createManualClock());
          for (let i = 0; i < 5; i++)
            await audit.record({ actor: "a", action: "x.create", target: `x:${i}` });

          await s.db.updateTable("audit_events").set({ actor: "mallory" }).where("seq", "=", 3).execute();
          expect(await audit.verify()).toMatchObject({ ok: false, brokenAt: 3 });
          await s.db.updateTable("audit_events").set({ actor: "a" }).where("seq", "=", 3).execute();
          expect(await audit.verify()).toMatchObject({ ok: true });

          await s.db.deleteFrom("audit_events").where("seq", "=", 5).execute();
          expect(await audit.verify()).toMatchObject({ ok: false, brokenAt: 5 });

          await s.db.deleteFrom("audit_events").where("seq", "=", 2).execute();
          expect(await audit.verify()).toMatchObject({ ok: false, brokenAt: 2 });
        } finally {
          await s.close();
        }
      });

      it("rejects an event without actor, action or target", async () => {
        const s = await options.create();
        try {
          const audit = createAuditService(s, createManualClock());
          const err = await audit.record({ actor: "", action: "x", target: "y" }).catch((e: unknown) => e);
          expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
        } finally {
          await s.close();
        }
      });
    });
  });
}
