// Compare-and-set alias moves across processes sharing one SQLite file: exactly one wins, the rest get CONFLICT, all audited.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { createRegistryEvents } from "./events.ts";
import { createRegistryService } from "./service.ts";

interface Outcome {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}

describe("alias compare-and-set across SQLite processes", () => {
  const tmp = makeTempDir();
  const store = `sqlite:${join(tmp.path, "loopml.db")}`;
  const artifacts = `file:${join(tmp.path, "objects")}`;
  let ws: Workspace;
  beforeAll(async () => {
    ws = await openWorkspace({ dir: tmp.path, store, artifacts });
    const admin = createRegistryService(
      { ...ws, events: createRegistryEvents() },
      { actor: "root", role: "admin" },
    );
    const { id: blobId } = await ws.blobs.put(Buffer.from("model"));
    await admin.createModel("race");
    for (let i = 0; i < 4; i++) await admin.createVersion("race", { blobId });
    await admin.promote("race", 1, { to: "production" });
  });
  afterAll(async () => {
    await ws.close();
    tmp.remove();
  });

  it("lets one of three processes that saw v1 move @production; the other two get CONFLICT; history and audit are complete", async () => {
    const child = new URL("./alias-race.child.ts", import.meta.url).pathname;
    const tries = [2, 3, 4];
    const procs = tries.map((v) =>
      spawn(
        process.execPath,
        ["--import", "tsx", child, tmp.path, store, artifacts, "race", "production", String(v), "1", `p${v}`],
        { stdio: ["pipe", "pipe", "inherit"] },
      ),
    );
    const outputs = procs.map((p) => createInterface({ input: p.stdout })[Symbol.asyncIterator]());
    for (const o of outputs) expect((await o.next()).value).toBe("ready");
    for (const p of procs) p.stdin.write("go\n");
    const outcomes = await Promise.all(
      outputs.map(async (o) => JSON.parse((await o.next()).value as string) as Outcome),
    );
    await Promise.all(
      procs.map((p) => new Promise((done) => (p.exitCode === null ? p.on("exit", done) : done(0)))),
    );

    const winners = tries.filter((_, i) => outcomes[i]?.ok === true);
    expect(winners).toHaveLength(1);
    const winner = winners[0] as number;
    for (const o of outcomes.filter((x) => !x.ok)) {
      expect(o.code).toBe("CONFLICT");
      expect(o.message).toContain(`now points at v${winner}, not v1`);
    }
    const admin = createRegistryService(
      { ...ws, events: createRegistryEvents() },
      { actor: "root", role: "admin" },
    );
    expect((await admin.getModel("race")).aliases["production"]).toBe(winner);
    expect((await admin.aliasHistory("race", "production")).map((h) => [h.from, h.to])).toEqual([
      [null, 1],
      [1, winner],
    ]);
    const events = await ws.audit.list({ target: "model:race@production" });
    expect(events.filter((e) => e.action === "model.promote").map((e) => e.actor)).toEqual([
      "root",
      `p${winner}`,
    ]);
    expect(
      events
        .filter((e) => e.action === "model.promote.conflict")
        .map((e) => e.actor)
        .sort(),
    ).toEqual(tries.filter((v) => v !== winner).map((v) => `p${v}`));
    expect((await ws.audit.verify()).ok).toBe(true);
  });
});
