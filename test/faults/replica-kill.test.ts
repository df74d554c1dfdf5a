// A serving replica killed with SIGKILL under load: the other replica keeps answering, and clients that retry a
// failed request on the other replica (as a load balancer does) see no failure at all.
import { afterAll, expect, it } from "vitest";
import { openWorkspace } from "../../src/workspace.ts";
import { freePort } from "../setup/ports.ts";
import { makeTempDir } from "../setup/tmp.ts";
import { startLoopml, until } from "../scale/procs.ts";
import { sendTraffic } from "../scale/traffic.ts";
import { seedToyModel } from "./toy-model.ts";

const tmp = makeTempDir("loopml-fault-replica-");
afterAll(() => tmp.remove());

it("[slow] the surviving replica answers every request after the other is killed", async () => {
  const ws = await openWorkspace({ dir: tmp.path, env: {} });
  try {
    await seedToyModel(ws);
  } finally {
    await ws.close();
  }
  const ports = [await freePort(), await freePort()];
  const replicas = ports.map((p) =>
    startLoopml(["serve", "m@production", "--port", String(p), "--no-access-log"], { cwd: tmp.path }),
  );
  try {
    await Promise.all(replicas.map((r) => r.waitFor(/serving m/)));
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const traffic = sendTraffic(
      urls,
      "/v1/models/m@production/predict",
      { instances: [{ x: 0.9 }] },
      {
        clients: 8,
        retryOther: true,
      },
    );
    await until("load on both replicas", () => traffic.stats.ok > 300);
    process.kill(replicas[0]!.pid, "SIGKILL");
    await replicas[0]!.exited;
    const atKill = traffic.stats.ok;
    await until("answers after the kill", () => traffic.stats.ok > atKill + 500);
    const stats = await traffic.stop();
    expect(stats.failed).toBe(0);
    // Requests did go to the dead replica (in flight at the kill, or sent to it afterwards) and were retried.
    expect(stats.retried).toBeGreaterThan(0);
    expect(stats.latestVersion.get(urls[1]!)).toBe("1");
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
  }
}, 60_000);
