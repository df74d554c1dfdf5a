// Starts a throwaway PostgreSQL 15 on 127.0.0.1 for tests (Debian's postgresql package), and stops it.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { freePort } from "./ports.ts";

const PG_BIN = "/usr/lib/postgresql/15/bin";

export interface PostgresServer {
  /** True when the server is not ours to restart (LOOPML_TEST_POSTGRES_URL). */
  readonly external: boolean;
  /** A URL for a fresh database on this server. */
  readonly url: (database?: string) => string;
  createDatabase(name: string): void;
  restart(): void;
  stop(): void;
}

export function postgresAvailable(): boolean {
  return existsSync(join(PG_BIN, "initdb"));
}

function asPostgres(cmd: string): void {
  const r = spawnSync("su", ["postgres", "-c", cmd], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
}

/**
 * Starts a private server, or, when LOOPML_TEST_POSTGRES_URL names one (a CI service container),
 * uses that one; an external server cannot be restarted by the tests.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const external = process.env["LOOPML_TEST_POSTGRES_URL"];
  if (external) return externalServer(external);
  if (!postgresAvailable()) {
    throw new Error(
      "PostgreSQL 15 is not installed: run `make install` (it installs Debian's postgresql package).",
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "loopml-pg-"));
  chownSync(dir, uidOf("postgres"), gidOf("postgres"));
  const port = await freePort();
  asPostgres(`${PG_BIN}/initdb -D ${dir}/data -U postgres --auth=trust -E UTF8 --no-locale >/dev/null`);
  const start = (): void =>
    asPostgres(
      `${PG_BIN}/pg_ctl -D ${dir}/data -l ${dir}/server.log -o '-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off' -w start >/dev/null`,
    );
  const stopServer = (): void => asPostgres(`${PG_BIN}/pg_ctl -D ${dir}/data -m fast -w stop >/dev/null`);
  start();
  return {
    external: false,
    url: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
    createDatabase: (name) => {
      execFileSync("psql", [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "postgres",
        "-qc",
        `create database "${name}"`,
      ]);
    },
    restart: () => {
      stopServer();
      start();
    },
    stop: () => {
      try {
        stopServer();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function uidOf(user: string): number {
  return Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim());
}
function gidOf(user: string): number {
  return Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim());
}

function externalServer(base: string): PostgresServer {
  const u = new URL(base);
  const at = (database: string): string => {
    const v = new URL(base);
    v.pathname = `/${database}`;
    return v.toString();
  };
  return {
    external: true,
    url: (database = u.pathname.slice(1) || "postgres") => at(database),
    createDatabase: (name) => {
      execFileSync("psql", [base, "-qc", `drop database if exists "${name}"`]);
      execFileSync("psql", [base, "-qc", `create database "${name}"`]);
    },
    restart: () => {
      throw new Error("an external PostgreSQL (LOOPML_TEST_POSTGRES_URL) cannot be restarted by the tests");
    },
    stop: () => undefined,
  };
}

/**
 * Starts one server for the calling test file (stopped after it) and hands out fresh databases:
 * the setup every PostgreSQL suite shares.
 */
export function usePostgres(prefix: string): { server(): PostgresServer; freshDatabaseUrl(): string } {
  let server: PostgresServer | undefined;
  let n = 0;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(() => server?.stop());
  const running = (): PostgresServer => {
    if (!server) throw new Error("usePostgres: the server starts in beforeAll; use it inside tests");
    return server;
  };
  return {
    server: running,
    freshDatabaseUrl: () => {
      const name = `${prefix}_${++n}`;
      running().createDatabase(name);
      return running().url(name);
    },
  };
}
