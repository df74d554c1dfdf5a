// Public surface of loopml's model serialization: save any registered learner into a hashed, versioned
// envelope and load it back in milliseconds; older "loopml-gbdt" JSON documents still load.
import { LoopmlError } from "../../errors.ts";
import { GbdtModel, loadModel } from "../gbdt/model.ts";
import { codecFor, codecNamed, type EncodeOptions } from "./codecs.ts";
import { isEnvelope, readEnvelope, writeEnvelope } from "./envelope.ts";

export { registerCodec, type EncodeOptions, type LearnerCodec } from "./codecs.ts";
export {
  ENVELOPE_FORMAT,
  ENVELOPE_VERSION,
  isEnvelope,
  readEnvelope,
  type EnvelopeHeader,
} from "./envelope.ts";

/**
 * Serializes a model (GBDT today; other learners once their codec is registered).
 *
 * @example
 * await writeFile("model.lmd", serializeModel(model, { background: trainFrame }));
 */
export function serializeModel(model: unknown, options: EncodeOptions = {}): Uint8Array {
  const codec = codecFor(model);
  return writeEnvelope(codec.learner, codec.version, codec.encode(model, options));
}

export interface LoadedModel {
  readonly learner: string;
  readonly model: unknown;
  /** sha256 of the envelope content; null for a legacy JSON document. */
  readonly sha256: string | null;
}

/**
 * Loads an envelope, or a legacy `loopml-gbdt` JSON document (bytes, text or parsed object).
 *
 * @example
 * const { model } = deserializeModel(await readFile("model.lmd"));
 */
export function deserializeModel(input: Uint8Array | string | object): LoadedModel {
  if (input instanceof Uint8Array && isEnvelope(input)) {
    const { header, arrays, sha256 } = readEnvelope(input);
    const codec = codecNamed(header.learner);
    if (header.learnerVersion > codec.version) {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        `The model file's ${header.learner} body is version ${header.learnerVersion}; this loopml reads up to ${codec.version}. Upgrade loopml.`,
      );
    }
    return {
      learner: header.learner,
      model: codec.decode({ meta: header.meta, arrays }, header.learnerVersion),
      sha256,
    };
  }
  const text = input instanceof Uint8Array ? Buffer.from(input).toString("utf8") : input;
  let doc: unknown = text;
  if (typeof text === "string") {
    try {
      doc = JSON.parse(text);
    } catch {
      throw new LoopmlError(
        "INVALID_ARGUMENT",
        "This is neither a loopml model envelope nor a loopml-gbdt JSON document; save models with serializeModel.",
      );
    }
  }
  return { learner: "gbdt", model: loadModel(doc), sha256: null };
}

/**
 * A GBDT for in-process serving from an envelope or a legacy JSON document (native runtime).
 *
 * @example
 * const model = loadGbdtModel(await readFile("model.lmd"));
 */
export function loadGbdtModel(input: Uint8Array | string | object): GbdtModel {
  const { learner, model } = deserializeModel(input);
  if (!(model instanceof GbdtModel)) {
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `The model file holds a "${learner}" model; the native runtime serves GBDT models only.`,
    );
  }
  return model;
}
