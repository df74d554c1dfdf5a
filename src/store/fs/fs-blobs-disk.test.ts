// Full and read-only disks, on a small tmpfs mounted for the test (needs root, as CI and `make test` here have).
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../../test/setup/tmp.ts";
import { isLoopmlError } from "../../errors.ts";
import { createFsBlobs } from "./fs-blobs.ts";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("folder blobs on a full or read-only disk", () => {
  const tmp = makeTempDir();
  const mnt = join(tmp.path, "mnt");
  beforeAll(() => {
    mkdirSync(mnt);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]);
  });
  afterAll(() => {
    execFileSync("umount", [mnt]);
    tmp.remove();
  });

  it("fails with RESOURCE_EXHAUSTED and leaves nothing behind when the disk fills up", async () => {
    const blobs = await createFsBlobs({ root: join(mnt, "objects") });
    const err = await blobs.put(Buffer.alloc(4 * 1024 * 1024, 7)).catch((e: unknown) => e);
    expect(isLoopmlError(err, "RESOURCE_EXHAUSTED")).toBe(true);
    expect((err as Error).message).toMatch(/disk .* is full/);
    expect(readdirSync(join(mnt, "objects", "tmp"))).toEqual([]);
    const ids: string[] = [];
    for await (const id of blobs.list()) ids.push(id);
    expect(ids).toEqual([]);
    // Once space is there again, writes work.
    expect((await blobs.put(Buffer.from("small"))).created).toBe(true);
  });

  it("fails with FAILED_PRECONDITION on a read-only disk", async () => {
    const blobs = await createFsBlobs({ root: join(mnt, "objects") });
    execFileSync("mount", ["-o", "remount,ro", mnt]);
    try {
      const err = await blobs.put(Buffer.from("x")).catch((e: unknown) => e);
      expect(isLoopmlError(err, "FAILED_PRECONDITION")).toBe(true);
      expect((err as Error).message).toMatch(/EROFS/);
    } finally {
      execFileSync("mount", ["-o", "remount,rw", mnt]);
    }
  });
});
