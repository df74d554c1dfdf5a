import { describe, expect, it } from "vitest";
import { usePostgres } from "../../../test/setup/postgres.ts";
import { isLoopmlError } from "../../errors.ts";
import { testMetadataStore } from "../contract/metadata.contract.ts";
import { createPostgresStore } from "./postgres-store.ts";

// A real PostgreSQL 15 on 127.0.0.1; `make install` puts it on the machine, so this never skips.
const pg = usePostgres("contract");
const urls = new WeakMap<object, string>();

testMetadataStore("postgres", {
  create: async () => {
    const url = pg.freshDatabaseUrl();
    const store = await createPostgresStore({ url });
    urls.set(store, url);
    return store;
  },
  reopen: (store) => createPostgresStore({ url: urls.get(store) ?? "" }),
});

describe("postgres store faults", () => {
  it("names the server and hides the password when PostgreSQL is unreachable", async () => {
    const err = await createPostgresStore({
      url: "postgres://u:s3cret@127.0.0.1:1/x",
      connectTimeoutMs: 2000,
    }).catch((e: unknown) => e);
    expect(isLoopmlError(err, "UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toContain("127.0.0.1:1");
    expect((err as Error).message).not.toContain("s3cret");
  });

  it.skipIf(process.env["LOOPML_TEST_POSTGRES_URL"] !== undefined)(
    "keeps working after the server restarts",
    async () => {
      pg.server().createDatabase("restart_case");
      const store = await createPostgresStore({ url: pg.server().url("restart_case") });
      try {
        await store.transaction((tx) =>
          tx.insertInto("meta").values({ key: "before", value: "1" }).execute(),
        );
        pg.server().restart();
        let lastError: unknown;
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            await store.transaction((tx) =>
              tx.insertInto("meta").values({ key: "after", value: "1" }).execute(),
            );
            lastError = undefined;
            break;
          } catch (e) {
            lastError = e; // the pool's stale connection fails once, then reconnects
          }
        }
        expect(lastError).toBeUndefined();
        expect((await store.db.selectFrom("meta").select("key").execute()).map((r) => r.key).sort()).toEqual([
          "after",
          "before",
        ]);
      } finally {
        await store.close();
      }
    },
  );
});
