// The blob store contract suite: one set of cases, registered once per backend.
import { Readable } from "node:stream";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../_internal/hash.ts";
import { isLoopmlError } from "../../errors.ts";
import { readAll } from "../blob-common.ts";
import type { BlobStore } from "../types.ts";

export interface BlobContractOptions {
  /** Makes a fresh, empty store. */
  create(): Promise<BlobStore>;
  /** Overwrites the stored bytes of `id` behind the store's back, to test corruption detection. */
  corrupt(store: BlobStore, id: string): Promise<void>;
  /** A temp folder for input files. */
  tmpDir(): string;
}

export function testBlobStore(name: string, options: BlobContractOptions): void {
  describe(`BlobStore contract: ${name}`, () => {
    let blobs: BlobStore;
    beforeAll(async () => {
      blobs = await options.create();
    });
    afterAll(async () => {
      await blobs.close();
    });

    it("stores bytes under their sha256 and reads them back", async () => {
      const bytes = Buffer.from("hello, loopml\n");
      const info = await blobs.put(bytes);
      expect(info).toEqual({ id: sha256Hex(bytes), size: bytes.length, created: true });
      expect(await blobs.getBytes(info.id)).toEqual(bytes);
      expect(await blobs.stat(info.id)).toBe(bytes.length);
      expect(await blobs.has(info.id)).toBe(true);
    });

    it("stores the same content once", async () => {
      const bytes = Buffer.from("dedup me");
      const a = await blobs.put(bytes);
      const b = await blobs.put(Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]));
      expect(b.id).toBe(a.id);
      expect(b.created).toBe(false);
    });

    it("streams a multi-chunk file in and out", async () => {
      const big = Buffer.alloc(9 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
      const path = join(options.tmpDir(), "big.bin");
      await writeFile(path, big);
      const info = await blobs.putFile(path);
      expect(info.id).toBe(sha256Hex(big));
      expect(info.size).toBe(big.length);
      const back = await readAll(blobs.get(info.id));
      expect(back.equals(big)).toBe(true);
    });

    it("stores an empty blob", async () => {
      const info = await blobs.put(Buffer.alloc(0));
      expect(info.id).toBe(sha256Hex(""));
      expect((await blobs.getBytes(info.id)).length).toBe(0);
    });

    it("is safe under concurrent writers of the same content", async () => {
      const bytes = Buffer.from("x".repeat(100_000));
      const results = await Promise.all(Array.from({ length: 8 }, () => blobs.put(bytes)));
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      expect(await blobs.getBytes(sha256Hex(bytes))).toEqual(bytes);
    });

    it("stores a batch with precomputed ids, once per content, readable and verified", async () => {
      const a = Buffer.from("batch chunk a");
      const b = Buffer.alloc(300_000, 5);
      const before = await blobs.put(Buffer.from("batch chunk already there"));
      const infos = await blobs.putMany([
        { id: sha256Hex(a), bytes: a },
        { id: before.id, bytes: Buffer.from("batch chunk already there") },
        { id: sha256Hex(b), bytes: b },
        { id: sha256Hex(a), bytes: a },
      ]);
      expect(infos.map((i) => [i.id, i.size])).toEqual([
        [sha256Hex(a), a.length],
        [before.id, before.size],
        [sha256Hex(b), b.length],
        [sha256Hex(a), a.length],
      ]);
      expect(infos.map((i) => i.created)).toEqual([true, false, true, false]);
      expect(await blobs.getBytes(sha256Hex(b))).toEqual(b);
      expect((await blobs.putMany([{ id: sha256Hex(b), bytes: b }]))[0]?.created).toBe(false);
      expect(await blobs.putMany([])).toEqual([]);
    });

    it("lists and deletes", async () => {
      const info = await blobs.put(Buffer.from("to be deleted"));
      const ids: string[] = [];
      for await (const id of blobs.list()) ids.push(id);
      expect(ids).toContain(info.id);
      await blobs.delete(info.id);
      expect(await blobs.has(info.id)).toBe(false);
      await blobs.delete(info.id); // deleting twice is fine
    });

    it("answers NOT_FOUND for an absent blob", async () => {
      const missing = sha256Hex("never stored");
      expect(await blobs.stat(missing)).toBeUndefined();
      const err = await blobs.getBytes(missing).catch((e: unknown) => e);
      expect(isLoopmlError(err, "NOT_FOUND")).toBe(true);
    });

    it("rejects ids that are not content hashes (no path tricks)", async () => {
      for (const bad of ["../../etc/passwd", "ab", "A".repeat(64)]) {
        const err = await blobs.has(bad).catch((e: unknown) => e);
        expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
      }
    });

    it("fails loudly when stored bytes no longer match their id", async () => {
      const info = await blobs.put(Buffer.from("precious bytes"));
      await options.corrupt(blobs, info.id);
      const err = await blobs.getBytes(info.id).catch((e: unknown) => e);
      expect(isLoopmlError(err, "INTERNAL")).toBe(true);
      expect((err as Error).message).toMatch(/Corrupt blob/);
    });

    it("leaves nothing visible when the source stream fails midway", async () => {
      const failing = new Readable({
        read() {
          this.push(Buffer.from("partial"));
          this.destroy(new Error("connection reset"));
        },
      });
      await expect(blobs.put(failing)).rejects.toThrow();
      expect(await blobs.has(sha256Hex("partial"))).toBe(false);
    });
  });
}
