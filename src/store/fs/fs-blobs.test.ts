import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll } from "vitest";
import { makeTempDir } from "../../../test/setup/tmp.ts";
import { testBlobStore } from "../contract/blobs.contract.ts";
import { createFsBlobs } from "./fs-blobs.ts";

const tmp = makeTempDir();
afterAll(() => tmp.remove());
let n = 0;
const roots = new WeakMap<object, string>();

testBlobStore("folder", {
  create: async () => {
    const root = join(tmp.path, `objects-${++n}`);
    const blobs = await createFsBlobs({ root });
    roots.set(blobs, root);
    return blobs;
  },
  corrupt: (blobs, id) => writeFile(join(roots.get(blobs) ?? "", id.slice(0, 2), id.slice(2)), "tampered"),
  tmpDir: () => tmp.path,
});
