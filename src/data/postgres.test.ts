// The data service over PostgreSQL: the same rows, upserts, id-prefix lookups and gc bookkeeping as on SQLite.
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { usePostgres } from "../../test/setup/postgres.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { silentLogger } from "../_internal/logger.ts";
import { openWorkspace } from "../workspace.ts";
import { createDataService } from "./service.ts";

const pg = usePostgres("data");

describe("data on postgres", () => {
  it("adds, dedups, resolves id prefixes, diffs, checks out and collects garbage", async () => {
    const tmp = makeTempDir();
    const ws = await openWorkspace({
      dir: tmp.path,
      store: pg.freshDatabaseUrl(),
      logger: silentLogger,
      env: {},
    });
    try {
      const data = createDataService(ws);
      await mkdir(join(tmp.path, "d"));
      const csv = join(tmp.path, "d", "t.csv");
      await writeFile(csv, "a,b\n1,x\n2,y\n");
      const v1 = await data.add("d/t.csv");
      expect((await data.add("d/t.csv")).created).toBe(false);
      await appendFile(csv, "3,z\n");
      const v2 = await data.add("d/t.csv", { message: "more" });
      expect(v2.version.seq).toBe(2);
      expect((await data.resolve(`t@${v1.version.id.slice(0, 10)}`)).seq).toBe(1);
      expect((await data.versions("t")).map((v) => [v.seq, v.size, v.id.length])).toEqual([
        [1, 12, 64],
        [2, 16, 64],
      ]);
      expect((await data.diff("t@1", "t@2")).tables[0]).toMatchObject({ rowsBefore: 2, rowsAfter: 3 });
      await data.checkout("t@1");
      expect(await readFile(csv, "utf8")).toBe("a,b\n1,x\n2,y\n");
      expect((await data.status("t"))[0]?.clean).toBe(true);
      expect((await data.gc()).deleted).toEqual([]);
      expect((await ws.audit.verify()).ok).toBe(true);
    } finally {
      await ws.close();
      tmp.remove();
    }
  });
});
