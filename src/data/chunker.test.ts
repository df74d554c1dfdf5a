// FastCDC chunker: deterministic cuts, size bounds, locality of edits, streaming equals in-memory.
import { createHash } from "node:crypto";
import { open, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { DEFAULT_CHUNKER, chunkFile, chunkLengths, createCutter, gearTable } from "./chunker.ts";

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function randomBytes(n: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

function chunkHashes(data: Buffer): string[] {
  const hashes: string[] = [];
  let pos = 0;
  for (const len of chunkLengths(data)) {
    hashes.push(
      createHash("sha256")
        .update(data.subarray(pos, pos + len))
        .digest("hex"),
    );
    pos += len;
  }
  return hashes;
}

const tmp = makeTempDir();
afterAll(() => tmp.remove());

describe("FastCDC chunker", () => {
  const data = randomBytes(24 << 20, 42);

  it("uses a fixed gear table (changing it would change every chunk id)", () => {
    const g = gearTable();
    expect(g.length).toBe(256);
    expect(new Set(g).size).toBe(256);
    expect([...g.slice(0, 4)]).toEqual([881216509, -600270419, -318263582, -155516878]);
  });

  it("cuts within min/max and averages near 1 MiB", () => {
    const lens = chunkLengths(data);
    expect(lens.reduce((a, b) => a + b, 0)).toBe(data.length);
    for (const len of lens.slice(0, -1)) {
      expect(len).toBeGreaterThanOrEqual(DEFAULT_CHUNKER.minSize);
      expect(len).toBeLessThanOrEqual(DEFAULT_CHUNKER.maxSize);
    }
    const avg = data.length / lens.length;
    expect(avg).toBeGreaterThan(600 << 10);
    expect(avg).toBeLessThan(1800 << 10);
  });

  it("changes only the chunks around an insertion in the middle", () => {
    const before = chunkHashes(data);
    const mid = data.length >> 1;
    const edited = Buffer.concat([
      data.subarray(0, mid),
      Buffer.from("hello, inserted bytes"),
      data.subarray(mid),
    ]);
    const after = chunkHashes(edited);
    const old = new Set(before);
    const fresh = after.filter((h) => !old.has(h));
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    expect(fresh.length).toBeLessThanOrEqual(2);
    expect(after.length - fresh.length).toBeGreaterThanOrEqual(before.length - 2);
  });

  it("matches a one-byte-per-step reference gear hash", () => {
    const { minSize, avgSize, maxSize } = { minSize: 64, avgSize: 256, maxSize: 1024 };
    const g = gearTable();
    const mask = (bits: number): number => ((0x7fffffff >>> (31 - bits)) << (31 - bits)) | 0;
    const reference = (buf: Uint8Array, start: number, end: number): number => {
      const n = end - start;
      if (n <= minSize) return n;
      const limit = start + Math.min(n, maxSize);
      const normal = start + Math.min(n, avgSize);
      let h = 0;
      for (let i = start + minSize; i < limit; i++) {
        h = ((h << 1) + g[buf[i]!]!) | 0;
        if ((h & (i < normal ? mask(10) : mask(6))) === 0) return i - start + 1;
      }
      return limit - start;
    };
    const cutter = createCutter({ minSize, avgSize, maxSize });
    const small = randomBytes(200_000, 7);
    for (let pos = 0; pos < small.length;) {
      const len = cutter.cut(small, pos, small.length);
      expect(len).toBe(reference(small, pos, small.length));
      pos += len;
    }
  });

  it("streams a file into the same chunks as in memory", async () => {
    const path = join(tmp.path, "big.bin");
    const part = data.subarray(0, 13 << 20);
    await writeFile(path, part);
    const fh = await open(path, "r");
    const streamed: number[] = [];
    let expectedOffset = 0;
    for await (const c of chunkFile(fh, 0, part.length)) {
      expect(c.offset).toBe(expectedOffset);
      expect(c.bytes.equals(part.subarray(c.offset, c.offset + c.bytes.length))).toBe(true);
      streamed.push(c.bytes.length);
      expectedOffset += c.bytes.length;
    }
    await fh.close();
    expect(streamed).toEqual(chunkLengths(part));
  });

  it("refuses inconsistent parameters", () => {
    expect(() => createCutter({ minSize: 10, avgSize: 100, maxSize: 200 })).toThrow(RangeError);
  });
});
