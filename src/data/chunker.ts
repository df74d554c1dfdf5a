// FastCDC content-defined chunking: a gear hash finds cut points, so an edit moves only the chunks around it.
import type { FileHandle } from "node:fs/promises";

export interface ChunkerParams {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
}

/** Tuned by bench/data/add.ts: 1 MiB chunks keep a 1 GiB file at ~1000 blobs while a 1% edit stores ~2%. */
export const DEFAULT_CHUNKER: ChunkerParams = { minSize: 256 << 10, avgSize: 1 << 20, maxSize: 4 << 20 };

const GEAR_SEED = 0x6c6f6f70; // "loop": changing it changes every chunk id ever written

/**
 * 256 pseudo-random 32-bit words from a fixed seed (mulberry32), so every build cuts identically.
 * GEAR_LS holds each word shifted left by one for the two-bytes-per-step loop.
 */
const GEAR = new Int32Array(256);
const GEAR_LS = new Int32Array(256);
{
  let s = GEAR_SEED;
  for (let i = 0; i < 256; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    GEAR[i] = t ^ (t >>> 14);
    GEAR_LS[i] = GEAR[i]! << 1;
  }
}

/** The gear table, exposed for the determinism test. */
export function gearTable(): Int32Array {
  return GEAR.slice();
}

/**
 * A mask of `bits` one-bits ending at bit 30. With a 32-bit gear hash bit k depends on the last k+1
 * bytes, so high bits give the widest window; bit 31 stays clear so that the two-bytes-per-step
 * loop (which tests the hash shifted left by one) sees exactly the same bits.
 */
function maskOf(bits: number): number {
  return ((0x7fffffff >>> (31 - bits)) << (31 - bits)) | 0;
}

export interface Cutter {
  readonly params: ChunkerParams;
  /**
   * Length of the chunk that starts at `start`, looking at bytes [start, end). When fewer than
   * maxSize bytes are available the caller must pass eof=true (the rest is one final chunk).
   */
  cut(buf: Uint8Array, start: number, end: number): number;
}

/** Normalized chunking (level 2): a harder mask before avgSize and an easier one after it. */
export function createCutter(params: ChunkerParams = DEFAULT_CHUNKER): Cutter {
  const { minSize, avgSize, maxSize } = params;
  if (!(minSize > 0 && minSize < avgSize && avgSize < maxSize) || (avgSize & (avgSize - 1)) !== 0) {
    throw new RangeError("chunker: need 0 < min < avg < max with avg a power of two");
  }
  const bits = Math.round(Math.log2(avgSize));
  const maskS = maskOf(bits + 2);
  const maskL = maskOf(bits - 2);
  const maskS2 = maskS << 1;
  const maskL2 = maskL << 1;

  function cut(buf: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (n <= minSize) return n;
    const limit = start + Math.min(n, maxSize);
    const normal = start + Math.min(n, avgSize);
    let h = 0;
    let i = start + minSize;
    // Two bytes per step (FastCDC 2020): h<<2 + (g<<1) is the one-byte hash after the first byte, shifted once.
    for (; i + 1 < normal; i += 2) {
      h = ((h << 2) + GEAR_LS[buf[i]!]!) | 0;
      if ((h & maskS2) === 0) return i - start + 1;
      h = (h + GEAR[buf[i + 1]!]!) | 0;
      if ((h & maskS) === 0) return i - start + 2;
    }
    for (; i < normal; i++) {
      h = ((h << 1) + GEAR[buf[i]!]!) | 0;
      if ((h & maskS) === 0) return i - start + 1;
    }
    for (; i + 1 < limit; i += 2) {
      h = ((h << 2) + GEAR_LS[buf[i]!]!) | 0;
      if ((h & maskL2) === 0) return i - start + 1;
      h = (h + GEAR[buf[i + 1]!]!) | 0;
      if ((h & maskL) === 0) return i - start + 2;
    }
    for (; i < limit; i++) {
      h = ((h << 1) + GEAR[buf[i]!]!) | 0;
      if ((h & maskL) === 0) return i - start + 1;
    }
    return limit - start;
  }

  return { params, cut };
}

/** Splits an in-memory buffer into chunk lengths (tests and small inputs). */
export function chunkLengths(data: Uint8Array, cutter: Cutter = createCutter()): number[] {
  const out: number[] = [];
  for (let pos = 0; pos < data.length;) {
    const len = cutter.cut(data, pos, data.length);
    out.push(len);
    pos += len;
  }
  return out;
}

export interface FileChunk {
  readonly offset: number;
  /** A copy of the chunk's bytes, owned by the consumer. */
  readonly bytes: Buffer;
}

const READ_BLOCK = 8 << 20;

/**
 * Reads `length` bytes of an open file from `from` and yields its chunks in order. Reads go into
 * one reused window (max chunk + one block), so memory stays flat whatever the file's size.
 */
export async function* chunkFile(
  fh: FileHandle,
  from: number,
  length: number,
  cutter: Cutter = createCutter(),
): AsyncGenerator<FileChunk> {
  const { maxSize } = cutter.params;
  const window = Buffer.allocUnsafe(maxSize + READ_BLOCK);
  let start = 0;
  let end = 0;
  let fileOffset = from; // file offset of window[start]
  let readPos = from;
  const stop = from + length;
  for (;;) {
    while (end - start < maxSize && readPos < stop) {
      if (start > 0 && window.length - end < READ_BLOCK) {
        window.copy(window, 0, start, end);
        end -= start;
        start = 0;
      }
      const want = Math.min(window.length - end, stop - readPos);
      const { bytesRead } = await fh.read(window, end, want, readPos);
      if (bytesRead === 0) break; // shrank under us: the caller's stat check reports it
      end += bytesRead;
      readPos += bytesRead;
    }
    if (end === start) return;
    const len = cutter.cut(window, start, end);
    const bytes = Buffer.allocUnsafe(len);
    window.copy(bytes, 0, start, start + len);
    yield { offset: fileOffset, bytes };
    start += len;
    fileOffset += len;
  }
}
