import { join } from "node:path";
import { afterAll } from "vitest";
import { makeTempDir } from "../../../test/setup/tmp.ts";
import { testMetadataStore } from "../contract/metadata.contract.ts";
import { createSqliteStore } from "./sqlite-store.ts";

const tmp = makeTempDir();
afterAll(() => tmp.remove());
let n = 0;
const paths = new WeakMap<object, string>();

testMetadataStore("sqlite", {
  create: async () => {
    const path = join(tmp.path, `store-${++n}.db`);
    const store = await createSqliteStore({ path });
    paths.set(store, path);
    return store;
  },
  reopen: (store) => createSqliteStore({ path: paths.get(store) ?? "" }),
});
