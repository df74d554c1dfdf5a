// API tokens (sha256 at rest, shown once), role checks and a limiter for repeated authentication failures.
import { randomBytes } from "node:crypto";
import { sha256Hex } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import { ROLES, type Role } from "../registry/types.ts";
import type { Workspace } from "../workspace.ts";

export interface Principal {
  /** Written to the audit log as the actor. */
  readonly actor: string;
  readonly role: Role;
}

export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly revokedAt: number | null;
}

const RANK: Readonly<Record<Role, number>> = { viewer: 0, editor: 1, approver: 2, admin: 3 };

/** Approver may do what an editor does; admin may do everything. */
export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

export function checkRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new LoopmlError("INVALID_ARGUMENT", `Role "${role}" is not one of ${ROLES.join(", ")}.`);
  }
  return role as Role;
}

export interface TokenService {
  /** Returns the token itself: it is not stored and cannot be shown again. */
  create(name: string, role: Role): Promise<{ token: string; info: TokenInfo }>;
  list(): Promise<TokenInfo[]>;
  revoke(name: string): Promise<void>;
  /** The principal of a valid, unrevoked token, or undefined. */
  verify(token: string): Promise<Principal | undefined>;
  /** Whether any unrevoked token exists (a server on a public address needs one). */
  any(): Promise<boolean>;
}

/**
 * @example
 * const { token } = await createTokenService(ws).create("ci", "editor");
 * // send it as: Authorization: Bearer <token>
 */
export function createTokenService(
  ws: Pick<Workspace, "store" | "audit" | "clock" | "ids" | "config">,
  actor = ws.config.actor,
): TokenService {
  const { store, audit, clock, ids } = ws;
  const fromRow = (r: {
    id: string;
    name: string;
    role: Role;
    created_at: number;
    created_by: string;
    revoked_at: number | null;
  }): TokenInfo => ({
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: r.created_at,
    createdBy: r.created_by,
    revokedAt: r.revoked_at,
  });
  return {
    create: async (name, role) => {
      if (!/^[A-Za-z0-9_.@-]{1,100}$/.test(name)) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `Token name "${name}" is invalid: use 1–100 letters, digits, "_", ".", "@" or "-".`,
        );
      }
      checkRole(role);
      const token = `lml_${randomBytes(24).toString("base64url")}`;
      const row = {
        id: ids.next(),
        name,
        role,
        hash: sha256Hex(token),
        created_at: clock.now(),
        created_by: actor,
        revoked_at: null,
      };
      await store.transaction(async (tx) => {
        const clash = await tx
          .selectFrom("api_tokens")
          .select("id")
          .where("name", "=", name)
          .executeTakeFirst();
        if (clash)
          throw new LoopmlError(
            "ALREADY_EXISTS",
            `A token named "${name}" exists; revoke it first or pick another name.`,
          );
        await tx.insertInto("api_tokens").values(row).execute();
        // The audit log never sees the token, only who got which role.
        await audit.append(tx, { actor, action: "token.create", target: `token:${name}`, details: { role } });
      });
      return { token, info: fromRow(row) };
    },
    list: async () =>
      (await store.db.selectFrom("api_tokens").selectAll().orderBy("name").execute()).map(fromRow),
    revoke: async (name) => {
      await store.transaction(async (tx) => {
        const row = await tx.selectFrom("api_tokens").selectAll().where("name", "=", name).executeTakeFirst();
        if (!row || row.revoked_at !== null) {
          throw new LoopmlError(
            "NOT_FOUND",
            `No active token named "${name}". List them with loopml server token list.`,
          );
        }
        await tx
          .updateTable("api_tokens")
          .set({ revoked_at: clock.now() })
          .where("id", "=", row.id)
          .execute();
        await audit.append(tx, { actor, action: "token.revoke", target: `token:${name}` });
      });
    },
    verify: async (token) => {
      const row = await store.db
        .selectFrom("api_tokens")
        .select(["name", "role", "revoked_at"])
        .where("hash", "=", sha256Hex(token))
        .executeTakeFirst();
      if (!row || row.revoked_at !== null) return undefined;
      return { actor: `token:${row.name}`, role: row.role };
    },
    any: async () =>
      (await store.db
        .selectFrom("api_tokens")
        .select("id")
        .where("revoked_at", "is", null)
        .limit(1)
        .executeTakeFirst()) !== undefined,
  };
}

/** Counts authentication failures per client address in a sliding window; past the limit the client is refused for the rest of it. */
export function createFailureLimiter(options: { max?: number; windowMs?: number; now?: () => number } = {}): {
  blocked(key: string): boolean;
  fail(key: string): void;
} {
  const max = options.max ?? 10;
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  const failures = new Map<string, number[]>();
  const recent = (key: string): number[] => {
    const t = now();
    const list = (failures.get(key) ?? []).filter((x) => t - x < windowMs);
    if (list.length === 0) failures.delete(key);
    else failures.set(key, list);
    return list;
  };
  return {
    blocked: (key) => recent(key).length >= max,
    fail: (key) => {
      const list = recent(key);
      list.push(now());
      failures.set(key, list);
      // Bound the memory an attacker with many addresses can take.
      if (failures.size > 10_000) failures.delete(failures.keys().next().value as string);
    },
  };
}
