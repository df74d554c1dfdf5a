// kill -9 at the worst moment leaves every store openable and consistent.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFsBlobs } from "../../src/store/fs/fs-blobs.ts";
import { MIGRATION_NAMES } from "../../src/store/migrations/index.ts";
import { openWorkspace } from "../../src/workspace.ts";
import { makeTempDir } from "../setup/tmp.ts";

const CHILD = join(import.meta.dirname, "crash-child.ts");

/** Starts the child, waits until it says it is writing (or not at all), lets it run `ms` more, then kill -9. */
function killDuring(mode: string, dir: string, ms: number, waitForSignal = true): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, mode, dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const kill = (): void => {
      setTimeout(() => child.kill("SIGKILL"), ms);
    };
    if (waitForSignal) child.stdout.once("data", kill);
    else kill();
    child.once("exit", () => resolve());
    child.once("error", reject);
  });
}

let tmp: { path: string; remove(): void };
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.remove());

describe("kill -9", () => {
  it("during a blob write leaves no visible blob (the partial temp file is never listed)", async () => {
    const root = join(tmp.path, "objects");
    await killDuring("blob", root, 150);
    const blobs = await createFsBlobs({ root });
    const ids: string[] = [];
    for await (const id of blobs.list()) ids.push(id);
    expect(ids).toEqual([]);
    expect(readdirSync(join(root, "tmp")).length).toBeLessThanOrEqual(1);
    const again = await blobs.put(Buffer.from("after the crash"));
    expect(again.created).toBe(true);
  });

  it("during audit appends leaves a verifiable chain", async () => {
    await killDuring("audit", tmp.path, 400);
    const ws = await openWorkspace({ dir: tmp.path });
    try {
      const result = await ws.audit.verify();
      expect(result.ok).toBe(true);
      expect(result.events).toBeGreaterThan(0);
      const next = await ws.audit.record({ actor: "after", action: "x.create", target: "x:after" });
      expect(next.seq).toBe(result.events + 1);
    } finally {
      await ws.close();
    }
  });

  it("during migrations leaves a store that opens at the latest schema", async () => {
    for (const ms of [0, 30, 80, 160]) {
      const dir = join(tmp.path, `m${ms}`);
      await killDuring("open", dir, ms);
      const ws = await openWorkspace({ dir });
      try {
        expect(await ws.store.schemaVersion()).toBe(MIGRATION_NAMES.length);
        expect((await ws.audit.verify()).ok).toBe(true);
      } finally {
        await ws.close();
      }
    }
  });
});
