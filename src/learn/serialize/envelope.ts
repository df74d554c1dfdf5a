// The loopml model envelope: a versioned binary container (header JSON + raw little-endian typed arrays)
// whose sha256 is checked on load. Learners plug in through codecs (see codecs.ts).
import { createHash } from "node:crypto";
import { LoopmlError } from "../../errors.ts";

/** First 8 bytes of every envelope. */
export const ENVELOPE_MAGIC = "LOOPMLMD";
export const ENVELOPE_FORMAT = "loopml-model";
/** The envelope layout version this build writes and reads. */
export const ENVELOPE_VERSION = 1;

const HASH_AT = 16;
const HEADER_AT = 48;

export type ArrayType = "int32" | "uint8" | "float32" | "float64";
export type TypedArray = Int32Array | Uint8Array | Float32Array | Float64Array;

const WIDTH: Record<ArrayType, number> = { int32: 4, uint8: 1, float32: 4, float64: 8 };

/** What a learner codec stores: JSON-able metadata and named typed arrays. */
export interface EnvelopeBody {
  readonly meta: unknown;
  readonly arrays: Readonly<Record<string, TypedArray>>;
}

export interface EnvelopeHeader {
  readonly format: typeof ENVELOPE_FORMAT;
  readonly version: number;
  /** "gbdt", "random-forest", "linear", … */
  readonly learner: string;
  /** Version of the learner's own body layout. */
  readonly learnerVersion: number;
  readonly meta: unknown;
  readonly arrays: readonly { name: string; type: ArrayType; offset: number; length: number }[];
}

export interface OpenedEnvelope {
  readonly header: EnvelopeHeader;
  readonly arrays: Readonly<Record<string, TypedArray>>;
  /** Hex sha256 of everything after the hash field. */
  readonly sha256: string;
}

/**
 * Layout: magic (8 bytes) | u32 envelope version | u32 header length | sha256 (32 bytes) of the rest |
 * header JSON | zero padding to 8 bytes | arrays, each starting on an 8-byte boundary.
 */
export function writeEnvelope(learner: string, learnerVersion: number, body: EnvelopeBody): Uint8Array {
  const entries = Object.entries(body.arrays);
  const arrays: { name: string; type: ArrayType; offset: number; length: number }[] = [];
  let offset = 0;
  for (const [name, a] of entries) {
    arrays.push({ name, type: typeOf(a), offset, length: a.length });
    offset = align8(offset + a.byteLength);
  }
  const header: EnvelopeHeader = {
    format: ENVELOPE_FORMAT,
    version: ENVELOPE_VERSION,
    learner,
    learnerVersion,
    meta: body.meta,
    arrays,
  };
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const payloadAt = align8(HEADER_AT + headerBytes.length);
  const out = new Uint8Array(payloadAt + offset);
  const view = new DataView(out.buffer);
  out.set(Buffer.from(ENVELOPE_MAGIC, "latin1"), 0);
  view.setUint32(8, ENVELOPE_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  out.set(headerBytes, HEADER_AT);
  entries.forEach(([, a], i) => {
    const at = payloadAt + (arrays[i] as { offset: number }).offset;
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
  });
  out.set(
    createHash("sha256")
      .update(out.subarray(HASH_AT + 32))
      .digest(),
    HASH_AT,
  );
  return out;
}

/** Whether the bytes start like a loopml model envelope (cheap; does not verify anything else). */
export function isEnvelope(bytes: Uint8Array): boolean {
  return (
    bytes.length >= HEADER_AT &&
    Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString("latin1") === ENVELOPE_MAGIC
  );
}

/** Checks magic, version and hash, then returns the header and zero-copy typed-array views. */
export function readEnvelope(bytes: Uint8Array): OpenedEnvelope {
  if (!isEnvelope(bytes)) throw bad("it does not start with the loopml model magic bytes");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== ENVELOPE_VERSION) {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `Model envelope version ${version} is not supported by this loopml (it reads version ${ENVELOPE_VERSION}); upgrade loopml.`,
    );
  }
  const digest = createHash("sha256")
    .update(bytes.subarray(HASH_AT + 32))
    .digest();
  const stored = bytes.subarray(HASH_AT, HASH_AT + 32);
  if (!digest.equals(stored)) {
    throw bad("its sha256 does not match the content (the file is truncated or was altered)");
  }
  const headerLength = view.getUint32(12, true);
  if (HEADER_AT + headerLength > bytes.length) throw bad("its header runs past the end of the file");
  let header: EnvelopeHeader;
  try {
    header = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset + HEADER_AT, headerLength).toString("utf8"),
    ) as EnvelopeHeader;
  } catch {
    throw bad("its header is not valid JSON");
  }
  if (
    header.format !== ENVELOPE_FORMAT ||
    !Array.isArray(header.arrays) ||
    typeof header.learner !== "string"
  ) {
    throw bad("its header lacks format, learner or arrays");
  }
  const payloadAt = align8(HEADER_AT + headerLength);
  // Views need aligned offsets: copy once into a fresh buffer unless the input already is aligned.
  const aligned = (bytes.byteOffset + payloadAt) % 8 === 0 ? bytes : new Uint8Array(bytes);
  const base = aligned.byteOffset + payloadAt;
  const arrays: Record<string, TypedArray> = {};
  const ctors = { int32: Int32Array, uint8: Uint8Array, float32: Float32Array, float64: Float64Array };
  for (const a of header.arrays as EnvelopeHeader["arrays"]) {
    const type: ArrayType = a.type;
    const width = Object.hasOwn(WIDTH, type) ? WIDTH[type] : undefined;
    if (
      width === undefined ||
      !Number.isInteger(a.offset) ||
      !Number.isInteger(a.length) ||
      a.offset < 0 ||
      a.length < 0 ||
      a.offset % 8 !== 0 ||
      payloadAt + a.offset + a.length * width > aligned.length
    ) {
      throw bad(`its array "${String(a.name)}" lies outside the file`);
    }
    arrays[a.name] = new ctors[type](aligned.buffer as ArrayBuffer, base + a.offset, a.length);
  }
  return { header, arrays, sha256: digest.toString("hex") };
}

function typeOf(a: TypedArray): ArrayType {
  if (a instanceof Int32Array) return "int32";
  if (a instanceof Uint8Array) return "uint8";
  if (a instanceof Float32Array) return "float32";
  return "float64";
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function bad(why: string): LoopmlError {
  return new LoopmlError("INVALID_ARGUMENT", `This is not a valid loopml model file: ${why}.`);
}
