// Audit events: who did what to which target, when, chained by hashes.

export interface AuditEventInput {
  /** The principal: a token's name, a user, or "local" for anonymous local use. */
  readonly actor: string;
  /** Verb in dotted form, e.g. "dataset.version.create", "model.alias.move". */
  readonly action: string;
  /** What was changed, e.g. "dataset:flights", "model:churn@3". */
  readonly target: string;
  /** Before/after ids and anything else worth keeping; stored as canonical JSON. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AuditEvent {
  readonly seq: number;
  /** ISO 8601 UTC. */
  readonly ts: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly prevHash: string;
  readonly hash: string;
}

export type AuditVerification =
  | { readonly ok: true; readonly events: number; readonly headHash: string }
  | { readonly ok: false; readonly events: number; readonly brokenAt: number; readonly reason: string };
