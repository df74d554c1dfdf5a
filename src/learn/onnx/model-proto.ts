// The ONNX messages the exporter needs (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
// ValueInfoProto) as plain objects, and their protobuf encoding (field numbers from onnx/onnx.proto3).
import { ProtoWriter } from "./protobuf.ts";

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7, STRING: 8, DOUBLE: 11 } as const;

export interface OnnxTensor {
  readonly name?: string;
  readonly dataType: number;
  readonly dims: readonly number[];
  readonly doubles?: ArrayLike<number>;
  readonly floats?: ArrayLike<number>;
  readonly int64s?: ArrayLike<number>;
}

export type OnnxAttribute =
  | { readonly name: string; readonly f: number }
  | { readonly name: string; readonly i: number }
  | { readonly name: string; readonly s: string }
  | { readonly name: string; readonly t: OnnxTensor }
  | { readonly name: string; readonly floats: ArrayLike<number> }
  | { readonly name: string; readonly ints: ArrayLike<number> }
  | { readonly name: string; readonly strings: readonly string[] };

export interface OnnxNode {
  readonly opType: string;
  readonly domain?: string;
  readonly name?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: readonly OnnxAttribute[];
}

export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: number;
  /** A number is a fixed size, a string a symbolic one ("N"). */
  readonly shape: readonly (number | string)[];
}

export interface OnnxModel {
  readonly irVersion: number;
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly graph: {
    readonly name: string;
    readonly nodes: readonly OnnxNode[];
    readonly inputs: readonly OnnxValueInfo[];
    readonly outputs: readonly OnnxValueInfo[];
    readonly initializers?: readonly OnnxTensor[];
  };
}

/** AttributeProto.AttributeType values. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  if (t.dims.length > 0) w.packedInts(1, t.dims);
  w.int(2, t.dataType);
  if (t.floats) w.packedFloats(4, t.floats);
  if (t.int64s) w.packedInts(7, t.int64s);
  if (t.name !== undefined) w.string(8, t.name);
  if (t.doubles) w.packedDoubles(10, t.doubles);
}

function writeAttribute(w: ProtoWriter, a: OnnxAttribute): void {
  w.string(1, a.name);
  if ("f" in a) w.int(20, AttrType.FLOAT).float(2, a.f);
  else if ("i" in a) w.int(20, AttrType.INT).int(3, a.i);
  else if ("s" in a) w.int(20, AttrType.STRING).string(4, a.s);
  else if ("t" in a) w.int(20, AttrType.TENSOR).message(5, (m) => writeTensor(m, a.t));
  else if ("floats" in a) w.int(20, AttrType.FLOATS).packedFloats(7, a.floats);
  else if ("ints" in a) w.int(20, AttrType.INTS).packedInts(8, a.ints);
  else {
    w.int(20, AttrType.STRINGS);
    for (const s of a.strings) w.string(9, s);
  }
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2).
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, (m) => writeAttribute(m, a));
  if (n.domain !== undefined) w.string(7, n.domain);
}

/** Encodes a model as ONNX protobuf bytes (what `onnx.save` writes). */
export function encodeModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, model.irVersion);
  w.string(2, model.producerName);
  w.string(3, model.producerVersion);
  if (model.docString !== undefined) w.string(6, model.docString);
  w.message(7, (g) => {
    for (const n of model.graph.nodes) g.message(1, (m) => writeNode(m, n));
    g.string(2, model.graph.name);
    for (const t of model.graph.initializers ?? []) g.message(5, (m) => writeTensor(m, t));
    for (const i of model.graph.inputs) g.message(11, (m) => writeValueInfo(m, i));
    for (const o of model.graph.outputs) g.message(12, (m) => writeValueInfo(m, o));
  });
  for (const o of model.opsets) w.message(8, (m) => m.string(1, o.domain).int(2, o.version));
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.message(14, (m) => m.string(1, key).string(2, value));
  }
  return w.finish();
}
