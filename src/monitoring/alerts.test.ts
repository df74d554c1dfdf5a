// Alert rules (parsing, thresholds against validation metrics, dedup/resolve) and the webhook sink (SSRF, retries).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import { evaluateRule, nextState, parseRule } from "./alert-rules.ts";
import { performanceOf, wilson } from "./performance.ts";
import { isPrivateAddress, postWebhook } from "./webhook.ts";

describe("alert rules", () => {
  it("parses thresholds, validation references and window counts", () => {
    expect(parseRule("drift_share >= 0.3 for 2 consecutive windows")).toEqual({
      metric: "drift_share",
      op: ">=",
      factor: 0.3,
      windows: 2,
    });
    expect(parseRule("rmse > 1.2 * validation.rmse")).toEqual({
      metric: "rmse",
      op: ">",
      factor: 1.2,
      reference: "validation.rmse",
      windows: 1,
    });
    expect(parseRule("auc < validation.auc")).toMatchObject({ factor: 1, reference: "validation.auc" });
    for (const bad of ["drift >= 1", "rmse > 1.2 * train.rmse", "rmse >", "rows > 1 for 0 windows"]) {
      const e = (() => {
        try {
          parseRule(bad);
        } catch (err) {
          return err;
        }
      })();
      expect(isLoopmlError(e, "INVALID_ARGUMENT"), bad).toBe(true);
    }
  });

  it("treats a missing metric or validation value as unknown, never as a breach", () => {
    const rule = parseRule("rmse > 1.2 * validation.rmse");
    expect(evaluateRule(rule, { rmse: 2 }, () => 1)).toEqual({ holds: true, value: 2, threshold: 1.2 });
    expect(evaluateRule(rule, { rmse: 1.1 }, () => 1)?.holds).toBe(false);
    expect(evaluateRule(rule, {}, () => 1)).toBeUndefined();
    expect(evaluateRule(rule, { rmse: 2 }, () => undefined)).toBeUndefined();
  });

  it("fires once after N consecutive windows, stays quiet while firing, resolves once", () => {
    let state = { state: "ok" as "ok" | "firing", consecutive: 0 };
    const transitions: string[] = [];
    for (const holds of [true, undefined, false, true, true, true, true, false, false]) {
      const r = nextState(state, holds === undefined ? undefined : { holds }, 2);
      state = r.next;
      transitions.push(r.transition);
    }
    expect(transitions).toEqual(["none", "none", "none", "none", "fire", "none", "none", "resolve", "none"]);
  });
});

describe("performance intervals", () => {
  it("matches the Wilson interval and contains the estimate", () => {
    // scipy.stats.binomtest(80, 100).proportion_ci(method="wilson"): (0.711170834406841, 0.8666330666689674)
    const w = wilson(80, 100);
    expect(w.low).toBeCloseTo(0.711170834406841, 12);
    expect(w.high).toBeCloseTo(0.8666330666689674, 12);
    const y = Float64Array.from({ length: 200 }, (_, i) => i % 2);
    const p = Float64Array.from({ length: 200 }, (_, i) => (i % 5 === 0 ? 1 - (i % 2) : i % 2));
    const prob = Float64Array.from(p, (v, i) => (v === 1 ? 0.6 + (i % 7) / 20 : 0.4 - (i % 7) / 20));
    const r = performanceOf("classification", y, p, prob);
    expect(r.metrics.accuracy!.value).toBe(0.8);
    expect(r.metrics.auc!.low).toBeLessThan(r.metrics.auc!.value);
    const reg = performanceOf(
      "regression",
      y,
      Float64Array.from(y, (v) => v + 0.5),
    );
    expect(reg.metrics.rmse).toMatchObject({ value: 0.5, low: 0.5, high: 0.5 });
  });
});

describe("webhook sink", () => {
  let server: Server;
  let url = "";
  const received: unknown[] = [];
  let failFirst = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        if (failFirst > 0) {
          failFirst--;
          res.writeHead(503).end();
          return;
        }
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("classifies private, loopback and link-local addresses", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "0.0.0.0",
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ["8.8.8.8", "1.1.1.1", "2606:4700::1111"]) expect(isPrivateAddress(a), a).toBe(false);
  });

  it("refuses loopback targets unless allowed, by IP and by a name that resolves there", async () => {
    for (const target of [url, url.replace("127.0.0.1", "localhost")]) {
      const e = await postWebhook(target, { a: 1 }, { attempts: 1 }).catch((err: unknown) => err);
      expect(isLoopmlError(e, "PERMISSION_DENIED"), target).toBe(true);
    }
    expect(received).toEqual([]);
  });

  it("posts JSON and retries with backoff on 5xx", async () => {
    failFirst = 2;
    const r = await postWebhook(url, { monitor: "m", rule: "x" }, { allowPrivate: true, backoffMs: 5 });
    expect(r).toMatchObject({ ok: true, attempts: 3, status: 204 });
    expect(received).toEqual([{ monitor: "m", rule: "x" }]);
    failFirst = 10;
    const gaveUp = await postWebhook(url, {}, { allowPrivate: true, backoffMs: 1, attempts: 3 });
    expect(gaveUp).toMatchObject({ ok: false, attempts: 3, status: 503 });
  });
});
