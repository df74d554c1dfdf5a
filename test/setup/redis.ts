// Starts a throwaway redis-server (Debian package) on a free loopback port, and stops it by PID.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { freePort } from "./ports.ts";

export interface RedisHandle {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Shuts the server down (by PID if it does not answer) and removes its folder. */
  stop(): Promise<void>;
}

/**
 * @example
 * const redis = await startRedis();
 * process.env.LOOPML_QUEUE = redis.url;
 * await redis.stop();
 */
export async function startRedis(): Promise<RedisHandle> {
  const dir = await mkdtemp(join(tmpdir(), "loopml-redis-"));
  const port = await freePort();
  const pidfile = join(dir, "redis.pid");
  // No persistence: a test queue never needs to survive the server.
  execFileSync("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "yes",
    "--pidfile",
    pidfile,
    "--logfile",
    join(dir, "redis.log"),
    "--dir",
    dir,
  ]);
  const ping = (): boolean => {
    try {
      return execFileSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).trim() === "PONG";
    } catch {
      return false;
    }
  };
  for (let i = 0; !ping(); i++) {
    if (i > 100) throw new Error(`redis-server did not start on port ${port}: see ${join(dir, "redis.log")}`);
    await delay(100);
  }
  const pid = Number((await readFile(pidfile, "utf8")).trim());
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      try {
        execFileSync("redis-cli", ["-p", String(port), "shutdown", "nosave"], { stdio: "ignore" });
      } catch {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
