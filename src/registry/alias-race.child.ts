// A separate process for the multi-process alias race test: opens the shared SQLite store, waits for "go", promotes with an expected holder.
import { createInterface } from "node:readline";
import { isLoopmlError } from "../errors.ts";
import { openWorkspace } from "../workspace.ts";
import { createRegistryEvents } from "./events.ts";
import { createRegistryService } from "./service.ts";

const [dir, store, artifacts, model, alias, version, expected, actor] = process.argv.slice(2);
if (actor === undefined) throw new Error("usage: DIR STORE ARTIFACTS MODEL ALIAS VERSION EXPECTED ACTOR");
const ws = await openWorkspace({ dir, store, artifacts });
const registry = createRegistryService({ ...ws, events: createRegistryEvents() }, { actor, role: "editor" });
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
process.stdout.write("ready\n");
await lines.next(); // "go": every process is open before any promotes
let outcome: { ok: true } | { ok: false; code: string; message: string };
try {
  await registry.promote(model as string, Number(version), { to: alias as string, expect: Number(expected) });
  outcome = { ok: true };
} catch (e) {
  outcome = {
    ok: false,
    code: isLoopmlError(e) ? e.code : "NOT_A_LOOPML_ERROR",
    message: (e as Error).message,
  };
}
process.stdout.write(`${JSON.stringify(outcome)}\n`);
await ws.close();
process.stdin.destroy();
