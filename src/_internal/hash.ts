// Content hashing (sha256 via node:crypto, the fastest measured here) and canonical JSON for hashed records.
import { createHash } from "node:crypto";

export const HASH_ALGORITHM = "sha256";
export const HASH_HEX_LENGTH = 64;
const HEX_ID = /^[0-9a-f]{64}$/;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash(HASH_ALGORITHM).update(data).digest("hex");
}

export function isContentId(id: string): boolean {
  return HEX_ID.test(id);
}

/**
 * JSON with object keys sorted at every depth, so that equal values always hash equally.
 * undefined members are dropped (as JSON.stringify does); non-finite numbers are refused
 * because they would silently turn into null.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`canonicalJson: ${value} has no JSON form`);
  }
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
