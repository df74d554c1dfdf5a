// Shared command plumbing: global options and a workspace opened for one command and always closed.
import type { Command } from "commander";
import { openWorkspace, type Workspace } from "../workspace.ts";

export interface GlobalOptions {
  readonly dir: string;
  readonly store?: string;
  readonly artifacts?: string;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export async function withWorkspace<T>(cmd: Command, fn: (ws: Workspace) => Promise<T>): Promise<T> {
  const g = globalOptions(cmd);
  const ws = await openWorkspace({
    dir: g.dir,
    ...(g.store !== undefined && { store: g.store }),
    ...(g.artifacts !== undefined && { artifacts: g.artifacts }),
  });
  try {
    return await fn(ws);
  } finally {
    await ws.close();
  }
}
