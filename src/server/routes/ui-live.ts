// Live serving traffic for the dashboard. `loopml up` serves the prediction endpoints and this API on one socket,
// so the serving metrics of this process are the /metrics of the socket the request came in on; anywhere else
// (a control plane alone) that path is not served, and the answer says there is no live traffic here.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RouteContext } from "../app.ts";

/** Cumulative serving counters of one endpoint and version (names as in serving/metrics.ts). */
export interface LiveSeries {
  endpoint: string;
  version: string;
  requests: number;
  /** Cumulative latency histogram: upper bounds in seconds (Infinity last) and counts. */
  le: number[];
  buckets: number[];
  latencySum: number;
  /** Roles (primary, canary, shadow) the version is loaded for right now. */
  roles: string[];
}

export interface LiveSnapshot {
  live: boolean;
  /** Milliseconds since the epoch on the server, to turn two snapshots into rates. */
  at: number;
  series: LiveSeries[];
  /** Errors per endpoint (they are not counted per version). */
  errors: Record<string, number>;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text exposition into the serving series the dashboard shows. */
export function parseServingMetrics(text: string, at: number): LiveSnapshot {
  const series = new Map<string, LiveSeries>();
  const errors: Record<string, number> = {};
  const get = (endpoint: string, version: string): LiveSeries => {
    const key = `${endpoint}\0${version}`;
    let s = series.get(key);
    if (!s) {
      s = { endpoint, version, requests: 0, le: [], buckets: [], latencySum: 0, roles: [] };
      series.set(key, s);
    }
    return s;
  };
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, "$1");
    const value = Number(m[3]);
    const endpoint = labels["model"] ?? "";
    const version = labels["version"] ?? "";
    switch (m[1]) {
      case "loopml_serving_requests_total":
        get(endpoint, version).requests += value;
        break;
      case "loopml_serving_request_duration_seconds_bucket": {
        const s = get(endpoint, version);
        s.le.push(labels["le"] === "+Inf" ? Infinity : Number(labels["le"]));
        s.buckets.push(value);
        break;
      }
      case "loopml_serving_request_duration_seconds_sum":
        get(endpoint, version).latencySum = value;
        break;
      case "loopml_serving_errors_total":
        errors[endpoint] = (errors[endpoint] ?? 0) + value;
        break;
      case "loopml_serving_model_served":
        if (value > 0) get(endpoint, version).roles.push(labels["role"] ?? "");
        break;
    }
  }
  return { live: true, at, series: [...series.values()], errors };
}

async function scrapeOwnSocket(req: FastifyRequest): Promise<string | null> {
  // An injected request (tests, in-process calls) came in on no socket.
  if (req.socket.localPort === undefined) return null;
  const addr = req.socket.localAddress ?? "127.0.0.1";
  const host = addr.includes(":") ? `[${addr}]` : addr;
  try {
    const res = await fetch(`http://${host}:${req.socket.localPort}/metrics`, {
      signal: AbortSignal.timeout(2000),
    });
    const type = res.headers.get("content-type") ?? "";
    // The control plane alone answers /metrics with a JSON 404: no serving in this process.
    if (!res.ok || !type.startsWith("text/plain")) return null;
    return await res.text();
  } catch {
    return null;
  }
}

export function registerUiLiveRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get(
    "/api/v1/ui/live",
    { config: { role: "viewer", summary: "live serving counters of this process, when it serves" } },
    async (req): Promise<LiveSnapshot> => {
      const at = ctx.workspace.clock.now();
      const text = await scrapeOwnSocket(req);
      return text === null ? { live: false, at, series: [], errors: {} } : parseServingMetrics(text, at);
    },
  );
}
