// Prediction traffic against serving replicas: counts answers, failures and the model version each replica served.
import { setTimeout as delay } from "node:timers/promises";

export interface TrafficStats {
  ok: number;
  /** Requests that got no good answer from any replica. */
  failed: number;
  /** Attempts that failed on one replica and were retried on another (retryOther only). */
  retried: number;
  readonly errors: string[];
  /** Per replica URL, the model version of its latest answer. */
  readonly latestVersion: Map<string, string>;
}

export interface Traffic {
  readonly stats: TrafficStats;
  stop(): Promise<TrafficStats>;
}

/**
 * `clients` loops each POST `body` to `replicas` in turn, as fast as they answer (or every `pauseMs`).
 * With retryOther, a failed attempt is retried once on each other replica, as a client behind a
 * load balancer would see it.
 */
export function sendTraffic(
  replicas: readonly string[],
  path: string,
  body: unknown,
  options: { clients?: number; retryOther?: boolean; pauseMs?: number } = {},
): Traffic {
  const stats: TrafficStats = { ok: 0, failed: 0, retried: 0, errors: [], latestVersion: new Map() };
  const payload = JSON.stringify(body);
  let running = true;
  let turn = 0;
  const attempt = async (base: string): Promise<boolean> => {
    try {
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: payload,
        signal: AbortSignal.timeout(10_000),
      });
      const json = (await res.json()) as { model_version?: string; message?: string };
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${json.message ?? ""}`);
      if (json.model_version !== undefined) stats.latestVersion.set(base, json.model_version);
      return true;
    } catch (e) {
      if (stats.errors.length < 20) stats.errors.push(`${base}: ${(e as Error).message}`);
      return false;
    }
  };
  const client = async (): Promise<void> => {
    while (running) {
      const first = turn++ % replicas.length;
      let answered = await attempt(replicas[first] as string);
      for (let i = 1; !answered && options.retryOther === true && i < replicas.length; i++) {
        stats.retried++;
        answered = await attempt(replicas[(first + i) % replicas.length] as string);
      }
      if (answered) stats.ok++;
      else stats.failed++;
      if (options.pauseMs !== undefined) await delay(options.pauseMs);
    }
  };
  const loops = Array.from({ length: options.clients ?? 4 }, () => client());
  return {
    stats,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}
