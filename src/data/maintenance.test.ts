// push/pull between blob stores, gc safety, and SQL over versions without checkout.
import { appendFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { createManualClock, createSequentialIds } from "../_internal/clock.ts";
import { silentLogger } from "../_internal/logger.ts";
import { isLoopmlError } from "../errors.ts";
import { createRegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import { openBlobs } from "../store/open.ts";
import { createTrackingService } from "../tracking/service.ts";
import type { BlobStore } from "../store/types.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { touchBlobs } from "./repo.ts";
import { createDataService, type DataService } from "./service.ts";

let tmp: { path: string; remove(): void };
let ws: Workspace;
let data: DataService;

async function open(dir: string): Promise<Workspace> {
  return openWorkspace({
    dir,
    clock: createManualClock(),
    ids: createSequentialIds(),
    logger: silentLogger,
    env: {},
  });
}

beforeEach(async () => {
  tmp = makeTempDir();
  await mkdir(join(tmp.path, "proj", "data"), { recursive: true });
  ws = await open(join(tmp.path, "proj"));
  data = createDataService(ws);
});
afterEach(async () => {
  await ws.close();
  tmp.remove();
});

/** gc compares wall-clock milliseconds with other processes' writes: let one pass. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 3));
}

async function ids(blobs: BlobStore): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const id of blobs.list()) out.add(id);
  return out;
}

describe("data push / pull", () => {
  it("copies only missing chunks, resumes, and lets a fresh clone pull by pointer file", async () => {
    const csv = join(tmp.path, "proj", "data", "t.csv");
    await writeFile(csv, "a,b\n1,x\n2,y\n");
    await data.add("data/t.csv", { name: "t" });
    const remoteUri = `file:${join(tmp.path, "remote")}`;
    const first = await data.push(remoteUri);
    expect(first.copied).toBe(first.blobs);
    const again = await data.push(remoteUri);
    expect(again.copied).toBe(0);

    await appendFile(csv, "3,z\n");
    await data.add("data/t.csv", { name: "t" });
    const remote = await openBlobs(remoteUri);
    const before = await ids(remote);
    const second = await data.push(remoteUri, { name: "t" });
    expect(second.copied).toBeGreaterThan(0);
    expect(second.copied).toBeLessThan(second.blobs);
    expect((await ids(remote)).size).toBe(before.size + second.copied);

    // a clone: the pointer file and the data path, but no store
    const clone = join(tmp.path, "clone");
    await mkdir(join(clone, "data"), { recursive: true });
    await writeFile(
      join(clone, "data", "t.loopml.json"),
      await readFile(join(tmp.path, "proj", "data", "t.loopml.json")),
    );
    const ws2 = await open(clone);
    try {
      const d2 = createDataService(ws2);
      const pulled = await d2.pull(remoteUri);
      expect(pulled.imported).toEqual(["t@2"]);
      await d2.checkout("t");
      expect(await readFile(join(clone, "data", "t.csv"), "utf8")).toBe("a,b\n1,x\n2,y\n3,z\n");
      expect((await d2.show("t@2")).profile?.tables["t.csv"]?.rows).toBe(3);
      expect((await d2.pull(remoteUri)).copied).toBe(0);
    } finally {
      await ws2.close();
      await remote.close();
    }
  });
});

describe("data gc", () => {
  it("deletes only unreferenced data chunks, lists them on --dry-run, and keeps foreign blobs", async () => {
    const file = join(tmp.path, "proj", "data", "big.bin");
    await writeFile(file, Buffer.alloc(600_000, 7));
    await data.add("data/big.bin");
    const foreign = await ws.blobs.put(Buffer.from("a model artifact, not data"));
    // a failed add leaves stored chunks that no version references
    const blobs = ws.blobs;
    let n = 0;
    const failing: BlobStore = {
      ...blobs,
      putMany: async (items) => {
        const r = await blobs.putMany(items);
        if (++n === 1) await appendFile(file, "grow");
        return r;
      },
    };
    await writeFile(file, Buffer.alloc(900_000, 9));
    const failed = await createDataService({ ...ws, blobs: failing })
      .add("data/big.bin")
      .catch((e: unknown) => e);
    expect(isLoopmlError(failed, "FAILED_PRECONDITION")).toBe(true);
    await tick();

    const dry = await data.gc({ dryRun: true });
    expect(dry.deleted.length).toBe(1);
    expect(await ws.blobs.has(dry.deleted[0]!)).toBe(true);
    const real = await data.gc();
    expect(real.deleted).toEqual(dry.deleted);
    expect(await ws.blobs.has(dry.deleted[0]!)).toBe(false);
    expect(await ws.blobs.has(foreign.id)).toBe(true);
    const v1 = await data.show("big@1");
    for (const c of v1.manifest.files[0]!.chunks!) expect(await ws.blobs.has(c)).toBe(true);
    expect((await data.gc()).deleted).toEqual([]);
    expect((await ws.audit.list({ action: "data.gc" })).length).toBe(2);
  });

  it("refuses to commit an add while a gc runs", async () => {
    const file = join(tmp.path, "proj", "data", "x.bin");
    await writeFile(file, Buffer.alloc(400_000, 1));
    await data.add("data/x.bin");
    await ws.store.transaction((tx) =>
      tx
        .insertInto("meta")
        .values({ key: "data.gc.running", value: String(Date.now()) })
        .execute(),
    );
    await writeFile(file, Buffer.alloc(400_000, 2));
    const e = await data.add("data/x.bin").catch((err: unknown) => err);
    expect(isLoopmlError(e, "CONFLICT")).toBe(true);
    expect((await data.versions("x")).length).toBe(1);
    const busy = await data.gc().catch((err: unknown) => err);
    expect(isLoopmlError(busy, "CONFLICT")).toBe(true);
  });

  it("fails an add that overlapped a gc which deleted a chunk it reused", async () => {
    const file = join(tmp.path, "proj", "data", "y.bin");
    await writeFile(file, Buffer.alloc(300_000, 3));
    // stored by an add that then failed: unreferenced, registered, collectable
    const blobs = ws.blobs;
    let first = true;
    const failing: BlobStore = {
      ...blobs,
      putMany: async (items) => {
        const r = await blobs.putMany(items);
        if (first) {
          first = false;
          await appendFile(file, "x");
        }
        return r;
      },
    };
    await createDataService({ ...ws, blobs: failing })
      .add("data/y.bin")
      .catch(() => undefined);
    await writeFile(file, Buffer.alloc(300_000, 3));
    await tick();
    // an add that finds the chunk already stored (writes nothing), then a gc deletes it before the add commits
    let gcDone = false;
    const racing: BlobStore = {
      ...blobs,
      putMany: async (items) => {
        const r = await blobs.putMany(items);
        if (!gcDone) {
          gcDone = true;
          expect(r.map((i) => i.created)).toEqual([false]);
          expect((await data.gc()).deleted).toEqual([r[0]?.id]);
        }
        return r;
      },
    };
    const e = await createDataService({ ...ws, blobs: racing })
      .add("data/y.bin")
      .catch((err: unknown) => err);
    expect(isLoopmlError(e, "CONFLICT")).toBe(true);
    expect(await data.datasets()).toEqual([]);
  });
});

describe("data gc with retention and model lineage", () => {
  it("drops versions beyond --keep-last unless a registered model version cites them", async () => {
    const file = join(tmp.path, "proj", "data", "big.bin");
    for (let k = 1; k <= 4; k++) {
      await writeFile(file, Buffer.alloc(100_000, k));
      await data.add("data/big.bin");
    }
    const chunksOf = async (ref: string): Promise<string[]> =>
      (await data.show(ref)).manifest.files.flatMap((f) => [...(f.chunks ?? [])]);
    const [c1, c2, c3, c4] = [
      await chunksOf("big@1"),
      await chunksOf("big@2"),
      await chunksOf("big@3"),
      await chunksOf("big@4"),
    ];
    // big@1 is named by a model version directly, big@2 through the run that trained another
    const tracking = createTrackingService(ws);
    const run = await tracking.startRun({ experiment: "e" });
    await run.logInputs(["big@2"], "training");
    await run.end();
    const registry = createRegistryService({ ...ws, events: createRegistryEvents() });
    await registry.createModel("m");
    const model = (await ws.blobs.put(Buffer.from("model"))).id;
    await registry.createVersion("m", {
      blobId: model,
      datasets: [{ dataset: "big", version: "1", context: "training" }],
    });
    await registry.createVersion("m", { blobId: model, runId: run.id });
    await tick();

    const dry = await data.gc({ dryRun: true, keepLast: 1 });
    expect(dry.dropped).toEqual(["big@3"]);
    expect(dry.pinned).toEqual([
      { version: "big@1", by: ["m@1"] },
      { version: "big@2", by: ["m@2"] },
    ]);
    expect(dry.deleted).toEqual(expect.arrayContaining(c3));
    expect((await data.versions("big")).length).toBe(4);

    const real = await data.gc({ keepLast: 1 });
    expect(real.dropped).toEqual(["big@3"]);
    expect([...real.deleted].sort()).toEqual([...dry.deleted].sort());
    for (const c of c3) expect(await ws.blobs.has(c)).toBe(false);
    for (const c of [...c1, ...c2, ...c4]) expect(await ws.blobs.has(c)).toBe(true);
    expect((await data.versions("big")).map((v) => v.seq)).toEqual([1, 2, 4]);
    const gone = await data.resolve("big@3").catch((e: unknown) => e);
    expect(isLoopmlError(gone, "NOT_FOUND")).toBe(true);
    // the pinned version still materialises and its lineage still resolves to its manifest
    await data.checkout("big@1");
    expect((await readFile(file)).equals(Buffer.alloc(100_000, 1))).toBe(true);
    expect((await registry.lineage("m", 1)).datasets[0]?.blobId).toBe((await data.resolve("big@1")).id);
    expect((await ws.audit.list({ action: "data.version.drop" })).length).toBe(1);
    const bad = await data.gc({ keepLast: 0 }).catch((e: unknown) => e);
    expect(isLoopmlError(bad, "INVALID_ARGUMENT")).toBe(true);
  });

  it("never deletes a chunk that an add wrote or reused after gc started", async () => {
    const reused = await ws.blobs.put(Buffer.from("chunk an add is about to reuse"));
    const garbage = await ws.blobs.put(Buffer.from("chunk nobody wants"));
    const old = Date.now() - 60_000;
    await ws.store.transaction((tx) =>
      touchBlobs(
        tx,
        new Map([
          [reused.id, { kind: "chunk", size: reused.size }],
          [garbage.id, { kind: "chunk", size: garbage.size }],
        ]),
        old,
      ),
    );
    await tick();
    // gc lists both as candidates; an add then reuses one of them before gc reaches it
    const blobs = ws.blobs;
    const racing: BlobStore = {
      ...blobs,
      stat: async (id) => {
        if (id === reused.id) {
          await ws.store.transaction((tx) =>
            touchBlobs(tx, new Map([[reused.id, { kind: "chunk", size: reused.size }]]), Date.now()),
          );
        }
        return blobs.stat(id);
      },
    };
    const r = await createDataService({ ...ws, blobs: racing }).gc();
    expect(r.deleted).toEqual([garbage.id]);
    expect(await ws.blobs.has(reused.id)).toBe(true);
    expect(await ws.blobs.has(garbage.id)).toBe(false);
  });
});

describe("data query", () => {
  it("runs SQL over an old version without checking it out", async () => {
    const csv = join(tmp.path, "proj", "data", "sales.csv");
    await writeFile(csv, "city,amount\nparis,10\nrome,5\nparis,7\n");
    await data.add("data/sales.csv");
    await writeFile(csv, "city,amount\nparis,1\n");
    await data.add("data/sales.csv");
    const r = await data.query("SELECT city, sum(amount) AS total FROM sales GROUP BY city ORDER BY city", {
      at: ["sales@1"],
    });
    expect(r.columns).toEqual(["city", "total"]);
    expect(r.rows.map((row) => row.map(String))).toEqual([
      ["paris", "17"],
      ["rome", "5"],
    ]);
    expect(r.sources).toEqual(["sales@1"]);
    expect(await readFile(csv, "utf8")).toBe("city,amount\nparis,1\n");
    const latest = await data.query("SELECT count(*) AS n FROM sales");
    expect(latest.rows[0]?.map(Number)).toEqual([1]);
    const bad = await data.query("SELECT nope FROM sales").catch((e: unknown) => e);
    expect(isLoopmlError(bad, "INVALID_ARGUMENT")).toBe(true);
    await rm(csv);
    expect(
      (await data.query("SELECT count(*) FROM sales", { at: ["sales@1"] })).rows[0]?.map(Number),
    ).toEqual([3]);
  });
});
