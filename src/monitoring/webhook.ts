// Webhook alert sink: JSON POST with retries and backoff, refusing loopback/private targets unless allowed (SSRF).
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP } from "node:net";
import { LoopmlError } from "../errors.ts";

export interface WebhookOptions {
  readonly allowPrivate?: boolean;
  /** Attempts in all (default 4): one try and three retries, waiting backoffMs · 2^k between them. */
  readonly attempts?: number;
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
}

export interface WebhookOutcome {
  readonly ok: boolean;
  readonly attempts: number;
  readonly status?: number;
  readonly error?: string;
}

const blocked = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  blocked.addSubnet(net, bits, "ipv4");
}
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  blocked.addSubnet(net, bits, "ipv6");
}

/** True for loopback, private, link-local, carrier-grade NAT, multicast and unspecified addresses. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1]!, "ipv4");
    return blocked.check(address, "ipv6");
  }
  return true;
}

function refused(url: URL, address: string): LoopmlError {
  return new LoopmlError(
    "PERMISSION_DENIED",
    `Webhook ${url.origin} resolves to ${address}, a loopback or private address; alerts are not sent inside ` +
      `the network unless the sink sets allowPrivate: true.`,
  );
}

/**
 * POSTs `body` as JSON. The address is checked at connect time (a custom DNS lookup), so a name that resolves
 * to a private address is refused even if it changes between checks. 5xx, 429 and network errors are retried;
 * other 4xx are not (the receiver said the request itself is wrong).
 *
 * @example
 * await postWebhook("https://hooks.example.com/loopml", { monitor: "churn", rule: "drift_share >= 0.3" });
 */
export async function postWebhook(
  target: string,
  body: unknown,
  options: WebhookOptions = {},
): Promise<WebhookOutcome> {
  const url = new URL(target);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new LoopmlError("INVALID_ARGUMENT", `Webhook URL ${target} must be http:// or https://.`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0 && !options.allowPrivate && isPrivateAddress(host)) throw refused(url, host);
  const payload = Buffer.from(JSON.stringify(body));
  const attempts = options.attempts ?? 4;
  let last: WebhookOutcome = { ok: false, attempts: 0 };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const status = await send(url, payload, options);
      last = { ok: status >= 200 && status < 300, attempts: attempt, status };
      if (last.ok || (status >= 400 && status < 500 && status !== 429)) return last;
    } catch (e) {
      if (e instanceof LoopmlError) throw e;
      last = { ok: false, attempts: attempt, error: (e as Error).message };
    }
    if (attempt < attempts) await sleep((options.backoffMs ?? 250) * 2 ** (attempt - 1));
  }
  return last;
}

function send(url: URL, payload: Buffer, options: WebhookOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    let denied: LoopmlError | undefined;
    const lookup = (
      hostname: string,
      opts: object,
      cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
    ): void => {
      dnsLookup(hostname, { ...opts, all: false }, (err, address, family) => {
        if (err) return cb(err, "", 0);
        if (!options.allowPrivate && isPrivateAddress(address)) {
          denied = refused(url, address);
          return cb(Object.assign(new Error(denied.message), { code: "EPRIVATE" }), "", 0);
        }
        cb(null, address, family);
      });
    };
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": payload.length,
          "user-agent": "loopml-monitor",
        },
        timeout: options.timeoutMs ?? 5000,
        lookup: lookup,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (e) => reject(denied ?? e));
    req.end(payload);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
