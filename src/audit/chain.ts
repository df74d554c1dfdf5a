// Pure hash-chain arithmetic for audit events: no IO, shared by append and verify.
import { canonicalJson, sha256Hex } from "../_internal/hash.ts";

export const GENESIS_HASH = "0".repeat(64);

export interface ChainedFields {
  readonly seq: number;
  readonly ts: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  /** Canonical JSON text, exactly as stored. */
  readonly details: string;
  readonly prevHash: string;
}

/** An event's hash covers every field and the previous hash, so editing, inserting or reordering breaks the chain. */
export function eventHash(e: ChainedFields): string {
  return sha256Hex(canonicalJson([e.seq, e.ts, e.actor, e.action, e.target, e.details, e.prevHash]));
}
