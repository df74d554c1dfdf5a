// The data service end to end over a real workspace: versions, dedup, stat cache, checkout, status, diff, bad input.
import { appendFile, chmod, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { createManualClock, createSequentialIds } from "../_internal/clock.ts";
import { silentLogger } from "../_internal/logger.ts";
import { isLoopmlError, type ErrorCode } from "../errors.ts";
import type { BlobStore } from "../store/types.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { createDataService, type DataService } from "./service.ts";

let tmp: { path: string; remove(): void };
let ws: Workspace;
let data: DataService;

beforeEach(async () => {
  tmp = makeTempDir();
  ws = await openWorkspace({
    dir: tmp.path,
    clock: createManualClock(),
    ids: createSequentialIds(),
    logger: silentLogger,
    env: {},
  });
  data = createDataService(ws);
});
afterEach(async () => {
  await ws.close();
  tmp.remove();
});

async function expectCode(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isLoopmlError(e, code), `expected ${code}, got ${String(e)}`).toBe(true);
  if (message) expect((e as Error).message).toMatch(message);
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    b[i] = s >>> 24;
  }
  return b;
}

describe("data add", () => {
  it("versions a file, dedups unchanged re-adds without reading, and writes the pointer and .gitignore", async () => {
    await mkdir(join(tmp.path, "data"));
    const file = join(tmp.path, "data", "big.bin");
    await writeFile(file, bytes(3 << 20, 1));
    const first = await data.add("data/big.bin", { message: "first" });
    expect(first.created).toBe(true);
    expect(first.version).toMatchObject({
      dataset: "big",
      seq: 1,
      size: 3 << 20,
      fileCount: 1,
      message: "first",
    });
    const again = await data.add("data/big.bin");
    expect(again.created).toBe(false);
    expect(again.filesRead).toBe(0);
    expect(again.version.id).toBe(first.version.id);

    const pointer = JSON.parse(await readFile(join(tmp.path, "data", "big.loopml.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(pointer).toMatchObject({
      dataset: "big",
      version: first.version.id,
      seq: 1,
      path: "data/big.bin",
    });
    await data.add("data/big.bin");
    expect(
      (await readFile(join(tmp.path, ".gitignore"), "utf8")).split("\n").filter((l) => l === "/data/big.bin"),
    ).toHaveLength(1);

    await appendFile(file, bytes(50_000, 2));
    const second = await data.add("data/big.bin", { message: "appended" });
    expect(second.created).toBe(true);
    expect(second.version.seq).toBe(2);
    expect(second.version.parentSeq).toBe(1);
    // only the chunk(s) at the end are new
    expect(second.bytesStored).toBeLessThan(2 << 20);
    expect((await data.versions("big")).map((v) => v.seq)).toEqual([1, 2]);

    const events = await ws.audit.list({ target: "dataset:big" });
    expect(events.map((e) => e.action)).toEqual(["data.version.create", "data.version.create"]);
    expect((await ws.audit.verify()).ok).toBe(true);
  });

  it("versions folders of small files as packs, and checks out an older version exactly", async () => {
    const dir = join(tmp.path, "imgs");
    await mkdir(join(dir, "a"), { recursive: true });
    for (let i = 0; i < 50; i++) await writeFile(join(dir, "a", `f${i}.txt`), `file ${i}\n`);
    await writeFile(join(dir, "large.bin"), bytes(600_000, 3));
    const v1 = await data.add("imgs", { name: "imgs" });
    expect(v1.version.fileCount).toBe(51);
    const show = await data.show("imgs@1");
    expect(show.manifest.packs.length).toBe(1);

    await writeFile(join(dir, "a", "f0.txt"), "changed\n");
    await rm(join(dir, "a", "f1.txt"));
    await writeFile(join(dir, "new.txt"), "new\n");
    const [st] = await data.status("imgs");
    expect(st).toMatchObject({
      added: ["new.txt"],
      removed: ["a/f1.txt"],
      modified: ["a/f0.txt"],
      clean: false,
    });

    const v2 = await data.add("imgs");
    expect(v2.version.seq).toBe(2);
    const diff = await data.diff("imgs@1", "imgs@2");
    expect(diff.added.map((f) => f.path)).toEqual(["new.txt"]);
    expect(diff.removed.map((f) => f.path)).toEqual(["a/f1.txt"]);
    expect(diff.changed.map((f) => f.path)).toEqual(["a/f0.txt"]);
    expect(diff.unchanged).toBe(49);

    const co = await data.checkout("imgs@1");
    expect(co.removed).toEqual(["new.txt"]);
    expect(await readFile(join(dir, "a", "f0.txt"), "utf8")).toBe("file 0\n");
    expect(await readFile(join(dir, "a", "f1.txt"), "utf8")).toBe("file 1\n");
    expect((await readFile(join(dir, "large.bin"))).equals(bytes(600_000, 3))).toBe(true);
    const [clean] = await data.status("imgs");
    expect(clean?.modified).toEqual([]);
    expect(clean?.added).toEqual([]);
    expect(clean?.removed).toEqual([]);
    const again = await data.checkout("imgs@1");
    expect(again.written).toBe(0);
    expect((await ws.audit.list({ action: "data.checkout" })).length).toBe(2);
  });

  it("refuses paths outside the project, symlinks out of it and symlink loops", async () => {
    await expectCode(data.add("../elsewhere"), "INVALID_ARGUMENT", /outside the project/);
    await expectCode(data.add("missing.csv"), "NOT_FOUND");
    const outsideDir = makeTempDir();
    try {
      await writeFile(join(outsideDir.path, "secret.txt"), "x");
      await mkdir(join(tmp.path, "d"));
      await symlink(join(outsideDir.path, "secret.txt"), join(tmp.path, "d", "link.txt"));
      await expectCode(data.add("d"), "INVALID_ARGUMENT", /outside the project/);
      await expectCode(data.add("d/link.txt"), "INVALID_ARGUMENT", /outside the project/);
    } finally {
      outsideDir.remove();
    }
    await mkdir(join(tmp.path, "loop", "sub"), { recursive: true });
    await writeFile(join(tmp.path, "loop", "x.txt"), "x");
    await symlink(join(tmp.path, "loop"), join(tmp.path, "loop", "sub", "back"));
    await expectCode(data.add("loop"), "INVALID_ARGUMENT", /symlink loop/);
    await symlink("self", join(tmp.path, "self"));
    await expectCode(data.add("self"), "INVALID_ARGUMENT", /loop/);
    expect(await data.datasets()).toEqual([]);
  });

  it("fails without recording anything when a file changes while it is added", async () => {
    const file = join(tmp.path, "growing.bin");
    await writeFile(file, bytes(2 << 20, 5));
    const blobs = ws.blobs;
    let touched = false;
    const sneaky: BlobStore = {
      ...blobs,
      putMany: async (items) => {
        if (!touched) {
          touched = true;
          await appendFile(file, "more bytes");
        }
        return blobs.putMany(items);
      },
    };
    const data2 = createDataService({ ...ws, blobs: sneaky });
    await expectCode(data2.add("growing.bin"), "FAILED_PRECONDITION", /changed while/);
    expect(await data.datasets()).toEqual([]);
    expect(await ws.audit.list()).toEqual([]);
  });

  it("fails a folder add when a small file it already read changes before the version is recorded", async () => {
    await mkdir(join(tmp.path, "many"));
    for (let i = 0; i < 20; i++) await writeFile(join(tmp.path, "many", `f${i}.txt`), `row ${i}\n`);
    const blobs = ws.blobs;
    const sneaky: BlobStore = {
      ...blobs,
      // the pack is written after every small file was read: edit one of them right then
      put: async (src) => {
        await appendFile(join(tmp.path, "many", "f3.txt"), "late edit\n");
        return blobs.put(src);
      },
    };
    await expectCode(
      createDataService({ ...ws, blobs: sneaky }).add("many"),
      "FAILED_PRECONDITION",
      /many\/f3.txt changed while/,
    );
    expect(await data.datasets()).toEqual([]);
    expect(await ws.audit.list()).toEqual([]);
    // once it is stable the add records exactly what is on disk
    const { version } = await data.add("many");
    const f3 = (await data.show(`many@${version.seq}`)).manifest.files.find((f) => f.path === "f3.txt");
    expect(f3?.size).toBe("row 3\nlate edit\n".length);
  });

  it("names what exists when a dataset or version is unknown", async () => {
    await expectCode(data.show("nope"), "NOT_FOUND", /no dataset exists yet/);
    await writeFile(join(tmp.path, "t.txt"), "hello");
    await data.add("t.txt");
    await expectCode(data.show("nope@1"), "NOT_FOUND", /Datasets: t/);
    await expectCode(data.show("t@7"), "NOT_FOUND", /Dataset "t" has no version 7 \(latest is 1\)/);
    await expectCode(data.show("t@x!"), "INVALID_ARGUMENT");
    await writeFile(join(tmp.path, "u.txt"), "other");
    await expectCode(data.add("u.txt", { name: "t" }), "CONFLICT", /tracks the file t.txt/);
    await expectCode(data.add("t.txt", { name: "bad name" }), "INVALID_ARGUMENT");
  });

  it("keeps file modes and restores a deleted single-file dataset", async () => {
    const file = join(tmp.path, "run.sh");
    await writeFile(file, "#!/bin/sh\necho hi\n");
    await chmod(file, 0o755);
    const v = await data.add("run.sh");
    await rm(file);
    const [st] = await data.status("run");
    expect(st?.removed).toEqual(["run.sh"]);
    await data.checkout("run");
    expect(await readFile(file, "utf8")).toContain("echo hi");
    expect((await data.show(`run@${v.version.id.slice(0, 8)}`)).manifest.files[0]?.mode).toBe(0o755);
  });

  it("refuses a CSV with a broken quote or ragged rows, recording nothing", async () => {
    await writeFile(join(tmp.path, "q.csv"), 'a,b\n1,"hello\n2,x\n');
    await expectCode(data.add("q.csv"), "INVALID_ARGUMENT", /q\.csv is not a well-formed CSV/);
    const rows = ["a,b"];
    for (let i = 0; i < 30_000; i++) rows.push(`${i},${i}`);
    rows.push("1,2,3");
    await writeFile(join(tmp.path, "late.csv"), rows.join("\n"));
    await expectCode(data.add("late.csv"), "INVALID_ARGUMENT", /late\.csv is not a well-formed CSV/);
    expect(await data.datasets()).toEqual([]);
    expect(await ws.audit.list()).toEqual([]);
  });
});
