// Reads the hot request shapes straight from the body bytes into a Batch; null means "not sure", and the caller takes JSON.parse and decode.ts.
//
// A 100-row batch of 17-digit floats costs JSON.parse ~450 µs (V8's slow decimal path), then decodeRows
// copies the arrays again. This scanner accepts only well-formed JSON of the shapes below, with numbers
// and nulls the signature allows; anything else (strings, booleans, escapes, NaN where the signature
// forbids it, unknown keys, wrong lengths, size limits, bad syntax) bails out, so every error message
// still comes from the one generic path.
import { positionOf, type DecodeLimits } from "./decode.ts";
import { BAIL, numberEnd, readNumber } from "./json-number.ts";
import type { Batch, ColumnSpec, ModelSignature } from "./types.ts";

/** Where the rows were in the body, which the routes need to mirror the generic path's choices. */
export type DataKey = "instances" | "inputs" | "dataframe_split";

export interface FastBody {
  readonly batch: Batch;
  readonly key: DataKey;
  /** `"probabilities": true` was sent. */
  readonly probabilities: boolean;
  /** `"explain": true` was sent. */
  readonly explain: boolean;
}

export interface FastShapes {
  /** The data keys this protocol accepts (exactly one must be present). */
  readonly keys: readonly DataKey[];
  /** Whether the boolean "probabilities" and "explain" keys may appear (loopml's protocol). */
  readonly flags: boolean;
}

interface Plan {
  readonly width: number;
  /** 1 where the column accepts missing values. */
  readonly nullable: Uint8Array;
  readonly strings: readonly null[];
}

const plans = new WeakMap<ModelSignature, Plan | null>();

/** Signatures with string columns are left to the generic path. */
function planOf(signature: ModelSignature): Plan | null {
  let plan = plans.get(signature);
  if (plan === undefined) {
    const numeric = signature.inputs.every((c: ColumnSpec) => c.type === "double");
    plan = numeric
      ? {
          width: signature.inputs.length,
          nullable: Uint8Array.from(signature.inputs, (c) => (c.nullable ? 1 : 0)),
          strings: signature.inputs.map(() => null),
        }
      : null;
    plans.set(signature, plan);
  }
  return plan;
}

/**
 * The batch in a JSON body of one of the shapes `{"instances": [[…], …]}`, `{"inputs": [[…], …]}`,
 * `{"inputs": {"col": […], …}}` or `{"dataframe_split": {"columns": […], "data": [[…], …]}}`, or null
 * when the body is anything else (then JSON.parse and decode.ts give the answer or the error).
 *
 * @example
 * decodeFast(Buffer.from('{"instances": [[1.5, null]]}'), signature, DEFAULT_LIMITS, { keys: ["instances"], flags: true });
 */
export function decodeFast(
  body: Buffer,
  signature: ModelSignature,
  limits: DecodeLimits,
  shapes: FastShapes,
): FastBody | null {
  const plan = planOf(signature);
  if (plan === null || limits.rowOffset) return null;
  try {
    return new Scanner(body, plan, limits.maxRows, signature).body(shapes);
  } catch (e) {
    if (e === BAIL) return null;
    throw e;
  }
}

/** The datatypes of Open Inference V2 tensors that carry numbers. */
export const NUMERIC_DATATYPES: ReadonlySet<string> = new Set([
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
]);

/**
 * The batch in an Open Inference V2 body holding one numeric tensor of shape [n, nInputs] (data flat or
 * nested, row-major) and optionally a string "id"; null for anything else (per-column tensors,
 * "outputs", "parameters", …), which the route decodes from JSON.parse.
 *
 * @example
 * decodeFastTensor(Buffer.from('{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}'), signature, DEFAULT_LIMITS);
 */
export function decodeFastTensor(
  body: Buffer,
  signature: ModelSignature,
  limits: DecodeLimits,
): { readonly batch: Batch; readonly id: string | undefined } | null {
  const plan = planOf(signature);
  if (plan === null || limits.rowOffset) return null;
  try {
    return new Scanner(body, plan, limits.maxRows, signature).tensorBody();
  } catch (e) {
    if (e === BAIL) return null;
    throw e;
  }
}

class Scanner {
  private i = 0;
  private values: Float64Array;
  private rows = 0;

  constructor(
    private readonly b: Buffer,
    private readonly plan: Plan,
    private readonly maxRows: number,
    private readonly signature: ModelSignature,
  ) {
    this.values = new Float64Array(plan.width);
  }

  body(shapes: FastShapes): FastBody {
    let key: DataKey | null = null;
    let probabilities = false;
    let explain = false;
    this.expect(0x7b); // {
    if (this.ws() === 0x7d) throw BAIL;
    for (;;) {
      const name = this.key();
      if (name === "probabilities" || name === "explain") {
        if (!shapes.flags) throw BAIL;
        const on = this.boolean();
        if (name === "probabilities") probabilities = on;
        else explain = on;
      } else if (key === null && (shapes.keys as readonly string[]).includes(name)) {
        key = name as DataKey;
        if (key === "dataframe_split") this.split();
        else if (key === "inputs" && this.ws() === 0x7b) this.columns();
        else this.matrix(null);
      } else throw BAIL;
      if (!this.more(0x7d)) break;
    }
    if (this.ws() !== -1 || key === null || this.rows === 0) throw BAIL;
    const n = this.rows * this.plan.width;
    const values = this.values.length === n ? this.values : this.values.subarray(0, n);
    return {
      batch: { nRows: this.rows, values, strings: this.plan.strings },
      key,
      probabilities,
      explain,
    };
  }

  tensorBody(): { batch: Batch; id: string | undefined } {
    let id: string | undefined;
    let inputs = false;
    this.expect(0x7b);
    if (this.ws() === 0x7d) throw BAIL;
    for (;;) {
      const name = this.key();
      if (name === "id" && id === undefined) id = this.key(false);
      else if (name === "inputs" && !inputs) {
        inputs = true;
        this.expect(0x5b);
        this.tensor();
        this.expect(0x5d);
      } else throw BAIL;
      if (!this.more(0x7d)) break;
    }
    if (this.ws() !== -1 || !inputs) throw BAIL;
    const n = this.rows * this.plan.width;
    const values = this.values.length === n ? this.values : this.values.subarray(0, n);
    return { batch: { nRows: this.rows, values, strings: this.plan.strings }, id };
  }

  /** `{"name", "shape": [n, width], "datatype", "data"}`, each once, the data n × width cells. */
  private tensor(): void {
    const width = this.plan.width;
    let name: string | undefined;
    let datatype: string | undefined;
    let rows = -1;
    let cells = -1;
    this.expect(0x7b);
    for (;;) {
      const key = this.key();
      if (key === "name" && name === undefined) name = this.key(false);
      else if (key === "datatype" && datatype === undefined) datatype = this.key(false);
      else if (key === "shape" && rows < 0) {
        this.expect(0x5b);
        rows = this.integer();
        this.expect(0x2c);
        if (this.integer() !== width) throw BAIL;
        this.expect(0x5d);
      } else if (key === "data" && cells < 0) cells = this.flat(0, 0);
      else throw BAIL;
      if (!this.more(0x7d)) break;
    }
    // The generic path reads a [n, 1] tensor named after the only column as that column: same values.
    if (name === undefined || datatype === undefined || !NUMERIC_DATATYPES.has(datatype)) throw BAIL;
    if (rows <= 0 || rows > this.maxRows || cells !== rows * width) throw BAIL;
    this.rows = rows;
  }

  /** Appends the numbers of a (possibly nested) array to values; returns the new count. */
  private flat(count: number, depth: number): number {
    const width = this.plan.width;
    if (depth > 8) throw BAIL;
    this.expect(0x5b);
    if (this.ws() === 0x5d) {
      this.i++;
      return count;
    }
    for (;;) {
      if (this.ws() === 0x5b) count = this.flat(count, depth + 1);
      else {
        if (count >= this.maxRows * width) throw BAIL;
        this.grow(count + 1);
        this.values[count] = readNumber(this.b, this.i, this.plan.nullable[count % width] === 1);
        this.i = numberEnd;
        count++;
      }
      if (!this.more(0x5d)) return count;
    }
  }

  /** A non-negative integer in plain digits. */
  private integer(): number {
    const b = this.b;
    let c = this.ws();
    let i = this.i;
    if (c === 0x30) {
      this.i = i + 1;
      return 0;
    }
    if (!(c >= 0x31 && c <= 0x39)) throw BAIL;
    let v = 0;
    while (c >= 0x30 && c <= 0x39 && v < 1e9) {
      v = v * 10 + (c - 0x30);
      c = b[++i] as number;
    }
    this.i = i;
    return v;
  }

  /** `[[v, …], …]` rows of `width` cells; `target[j]` is the signature position of cell j (null: j). */
  private matrix(target: Int32Array | null): void {
    const width = this.plan.width;
    const nullable = this.plan.nullable;
    const b = this.b;
    this.expect(0x5b); // [
    if (this.ws() === 0x5d) throw BAIL; // empty: the generic path says so
    // The cells are the hot loop: a local cursor and inline separators, no method call per cell.
    let i = this.i;
    for (;;) {
      const row = this.rows++;
      if (row >= this.maxRows) throw BAIL;
      this.grow(this.rows * width);
      const values = this.values;
      const base = row * width;
      let c = b[i];
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      if (c !== 0x5b) throw BAIL;
      const rowStart = i;
      i++;
      for (let j = 0; j < width; j++) {
        c = b[i];
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
        if (j > 0) {
          if (c !== 0x2c) throw BAIL;
          c = b[++i];
          while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
        }
        const col = target === null ? j : (target[j] as number);
        values[base + col] = readNumber(b, i, nullable[col] === 1);
        i = numberEnd;
      }
      c = b[i];
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
      if (c !== 0x5d) throw BAIL;
      this.i = i + 1;
      if (!this.more(0x5d)) return;
      if (row === 0) this.reserve(this.i - rowStart, width);
      i = this.i;
    }
  }

  /** `{"col": [v, …], …}`: every signature column exactly once, all of one length. */
  private columns(): void {
    const index = positionOf(this.signature);
    const width = this.plan.width;
    const seen = new Uint8Array(width);
    const columns: Float64Array[] = new Array<Float64Array>(width);
    let n = -1;
    this.expect(0x7b);
    if (this.ws() === 0x7d) throw BAIL;
    for (let k = 0; ; k++) {
      const col = index.get(this.key());
      if (col === undefined || seen[col] === 1) throw BAIL;
      seen[col] = 1;
      const column = this.column(col, n);
      n = column.length;
      columns[col] = column;
      if (!this.more(0x7d)) {
        if (k + 1 !== width || n === 0 || n > this.maxRows) throw BAIL;
        break;
      }
    }
    this.rows = n;
    this.values = new Float64Array(n * width);
    for (let c = 0; c < width; c++) {
      const column = columns[c] as Float64Array;
      for (let r = 0; r < n; r++) this.values[r * width + c] = column[r] as number;
    }
  }

  private column(col: number, length: number): Float64Array {
    let out = new Float64Array(length >= 0 ? length : 16);
    let n = 0;
    this.expect(0x5b);
    if (this.ws() === 0x5d) throw BAIL;
    for (;;) {
      if (n === out.length) {
        if (length >= 0 || n >= this.maxRows) throw BAIL;
        const bigger = new Float64Array(n * 2);
        bigger.set(out);
        out = bigger;
      }
      this.ws();
      out[n++] = readNumber(this.b, this.i, this.plan.nullable[col] === 1);
      this.i = numberEnd;
      if (!this.more(0x5d)) break;
    }
    if (length >= 0 && n !== length) throw BAIL;
    return n === out.length ? out : out.subarray(0, n);
  }

  /** `{"columns": [names], "data": [[…], …]}` in that order, the names a permutation of the signature's. */
  private split(): void {
    const index = positionOf(this.signature);
    const width = this.plan.width;
    this.expect(0x7b);
    if (this.key() !== "columns") throw BAIL;
    const target = new Int32Array(width);
    const seen = new Uint8Array(width);
    this.expect(0x5b);
    for (let j = 0; ; j++) {
      const col = index.get(this.key(false));
      if (j >= width || col === undefined || seen[col] === 1) throw BAIL;
      seen[col] = 1;
      target[j] = col;
      if (!this.more(0x5d)) {
        if (j + 1 !== width) throw BAIL;
        break;
      }
    }
    this.expect(0x2c);
    if (this.key() !== "data") throw BAIL;
    this.matrix(target);
    this.expect(0x7d);
  }

  /** A key without escapes, and the colon after it (`colon` false: an array item). */
  private key(colon = true): string {
    this.expect(0x22);
    const start = this.i;
    const b = this.b;
    let i = start;
    let c = b[i];
    while (c !== 0x22) {
      if (c === undefined || c === 0x5c || c < 0x20) throw BAIL;
      c = b[++i];
    }
    this.i = i + 1;
    const name = b.toString("utf8", start, i);
    if (colon) this.expect(0x3a);
    return name;
  }

  private boolean(): boolean {
    const b = this.b;
    const c = this.ws();
    const i = this.i;
    if (c === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) {
      this.i = i + 4;
      return true;
    }
    if (c === 0x66 && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65) {
      this.i = i + 5;
      return false;
    }
    throw BAIL;
  }

  /** After an item: true on a comma (another follows), false on `close`. */
  private more(close: number): boolean {
    const c = this.ws();
    this.i++;
    if (c === 0x2c) return true;
    if (c === close) return false;
    throw BAIL;
  }

  private expect(char: number): void {
    if (this.ws() !== char) throw BAIL;
    this.i++;
  }

  /** Skips whitespace; the next byte, or -1 at the end. */
  private ws(): number {
    const b = this.b;
    let i = this.i;
    let c = b[i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
    this.i = i;
    return c ?? -1;
  }

  /** Sizes the values for the rows the rest of the body can hold if they are as long as the first. */
  private reserve(rowBytes: number, width: number): void {
    const rows = Math.min(this.maxRows, 1 + Math.ceil((this.b.length - this.i) / rowBytes));
    if (rows * width > this.values.length) {
      const sized = new Float64Array(rows * width);
      sized.set(this.values.subarray(0, width));
      this.values = sized;
    }
  }

  private grow(size: number): void {
    if (size <= this.values.length) return;
    const bigger = new Float64Array(Math.max(size, this.values.length * 2));
    bigger.set(this.values);
    this.values = bigger;
  }
}
