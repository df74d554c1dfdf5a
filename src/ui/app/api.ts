/// <reference lib="dom" />
// The only way the dashboard talks to the server: fetch on the same origin, with the stored API token.

const TOKEN_KEY = "loopml.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function setToken(token: string | null): void {
  if (token === null) localStorage.removeItem(TOKEN_KEY);
  else localStorage.setItem(TOKEN_KEY, token);
}

export function hasToken(): boolean {
  return localStorage.getItem(TOKEN_KEY) !== null;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) headers["authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!res.ok) {
    const err = json["error"] as { message?: string } | undefined;
    throw new ApiError(res.status, err?.message ?? (json["message"] as string | undefined) ?? res.statusText);
  }
  return json as T;
}

export type Role = "viewer" | "editor" | "approver" | "admin";
const RANK: Record<Role, number> = { viewer: 0, editor: 1, approver: 2, admin: 3 };
export function allows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}
