// The one config loader: flags over LOOPML_* environment over loopml.yaml over defaults.
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { LoopmlError } from "./errors.ts";

export const CONFIG_FILE = "loopml.yaml";
export const STATE_DIR = ".loopml";

export interface LoopmlConfig {
  /** The project folder (where loopml.yaml lives). */
  readonly projectDir: string;
  /** Metadata store URI: sqlite:PATH or postgres://… */
  readonly store: string;
  /** Blob store URI: file:PATH or s3://BUCKET/PREFIX */
  readonly artifacts: string;
  /** Who the CLI acts as in the audit log when no token is involved. */
  readonly actor: string;
  readonly logLevel: string;
  /** The parsed loopml.yaml (empty when absent), for the sections later modules read. */
  readonly file: Readonly<Record<string, unknown>>;
}

export interface ConfigOverrides {
  readonly store?: string;
  readonly artifacts?: string;
  readonly actor?: string;
  readonly logLevel?: string;
}

/**
 * @example
 * const config = loadConfig("/path/to/project", { store: "postgres://…" });
 */
export function loadConfig(
  projectDir: string,
  flags: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): LoopmlConfig {
  const dir = resolve(projectDir);
  const file = readConfigFile(dir);
  const section = asRecord(file["store"], `${CONFIG_FILE}: "store"`);
  const str = (v: unknown, where: string): string | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || v === "")
      throw new LoopmlError("INVALID_ARGUMENT", `${CONFIG_FILE}: ${where} must be a non-empty string.`);
    return v;
  };
  return {
    projectDir: dir,
    store:
      flags.store ??
      env["LOOPML_STORE"] ??
      str(section["metadata"], "store.metadata") ??
      `sqlite:${STATE_DIR}/loopml.db`,
    artifacts:
      flags.artifacts ??
      env["LOOPML_ARTIFACTS"] ??
      str(section["artifacts"], "store.artifacts") ??
      `file:${STATE_DIR}/objects`,
    actor: flags.actor ?? env["LOOPML_ACTOR"] ?? `local:${safeUserName()}`,
    logLevel: flags.logLevel ?? env["LOOPML_LOG_LEVEL"] ?? "warn",
    file,
  };
}

function readConfigFile(dir: string): Record<string, unknown> {
  const path = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new LoopmlError("FAILED_PRECONDITION", `Cannot read ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parse(text);
  } catch (e) {
    throw new LoopmlError("INVALID_ARGUMENT", `${path} is not valid YAML: ${(e as Error).message}`);
  }
  return asRecord(parsed ?? {}, path);
}

function asRecord(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v))
    throw new LoopmlError("INVALID_ARGUMENT", `${where} must be a mapping.`);
  return v as Record<string, unknown>;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}
