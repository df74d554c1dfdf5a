// A tiny JSON client for the fault tests: a connection refused or reset is a value (the write's fate is unknown),
// not an exception, so a test can decide to look and retry as a careful client does.
/** status 0: no answer (refused, reset, timed out); body is then empty. */
export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export async function call(base: string, method: string, path: string, body?: unknown): Promise<Reply> {
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body !== undefined && {
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown> };
  } catch {
    return { status: 0, body: {} };
  }
}

/** The body of a 2xx answer; anything else is an error that names the request. */
export async function ok(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const r = await call(base, method, path, body);
  if (r.status < 200 || r.status >= 300)
    throw new Error(
      `${method} ${path}: ${r.status === 0 ? "no answer" : `${r.status} ${JSON.stringify(r.body)}`}`,
    );
  return r.body;
}
