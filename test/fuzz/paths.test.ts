// Fuzzing artifact paths and data paths: whatever is accepted stays inside the run / the project, the rest is a LoopmlError.
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createManualClock, createSequentialIds } from "../../src/_internal/clock.ts";
import { resolveDataPath, type DataPath } from "../../src/data/walk.ts";
import { isLoopmlError } from "../../src/errors.ts";
import { createTrackingService } from "../../src/tracking/service.ts";
import { checkArtifactPath } from "../../src/tracking/validate.ts";
import { openWorkspace, type Workspace } from "../../src/workspace.ts";
import { makeTempDir } from "../setup/tmp.ts";

const SEED = 20261127;
const segment = fc.oneof(
  fc.constantFrom(
    "..",
    ".",
    "",
    "a",
    "b.csv",
    "C:",
    "~",
    "%2e%2e",
    "\\..",
    "a\\b",
    "\0",
    " ",
    "link",
    "out",
    "data",
  ),
  fc.string({ maxLength: 4 }),
);
const pathText = fc.oneof(
  fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join("/")),
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join("/")}`),
  fc.string({ maxLength: 30 }),
);

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
}

describe("artifact paths", () => {
  const tmp = makeTempDir();
  let ws: Workspace;
  let runId = "";
  beforeAll(async () => {
    ws = await openWorkspace({
      dir: tmp.path,
      store: "sqlite:.loopml/loopml.db",
      artifacts: `file:${join(tmp.path, "objects")}`,
      clock: createManualClock(),
      ids: createSequentialIds(),
      actor: "local:fuzz",
    });
    runId = (await createTrackingService(ws).createRun({ experiment: "paths" })).id;
  });
  afterAll(async () => {
    await ws.close();
    tmp.remove();
  });

  it("checkArtifactPath accepts only relative paths without .., and never changes what it accepts into one", () => {
    fc.assert(
      fc.property(pathText, (p) => {
        let out: string;
        try {
          out = checkArtifactPath(p);
        } catch (e) {
          expect(isLoopmlError(e, "INVALID_ARGUMENT")).toBe(true);
          return;
        }
        expect(out.startsWith("/")).toBe(false);
        expect(out.split("/")).not.toContain("..");
        expect(out).not.toContain("\0");
        expect(out).not.toContain("\\");
        expect(inside("/run", join("/run", out))).toBe(true);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it("put then open returns the same bytes for accepted paths, and a rejected put stores nothing", async () => {
    const tracking = createTrackingService(ws);
    await fc.assert(
      fc.asyncProperty(pathText, fc.uint8Array({ maxLength: 16 }), async (p, bytes) => {
        const before = (await tracking.listArtifacts(runId)).length;
        const put = await tracking.putArtifact(runId, p, bytes).catch((e: unknown) => e);
        if (put instanceof Error) {
          expect(isLoopmlError(put), String(put)).toBe(true);
          expect((await tracking.listArtifacts(runId)).length).toBe(before);
          return;
        }
        const { stream } = await tracking.openArtifact(runId, p);
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        expect(new Uint8Array(Buffer.concat(chunks))).toEqual(bytes);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});

describe("data paths (loopml data add)", () => {
  const project = makeTempDir();
  const outside = makeTempDir("loopml-outside-");
  beforeAll(() => {
    mkdirSync(join(project.path, "data", "a"), { recursive: true });
    writeFileSync(join(project.path, "data", "b.csv"), "x\n1\n");
    writeFileSync(join(outside.path, "secret.csv"), "x\n1\n");
    symlinkSync(outside.path, join(project.path, "data", "out"));
    symlinkSync(join(outside.path, "secret.csv"), join(project.path, "data", "link"));
    symlinkSync(join(project.path, "data", "b.csv"), join(project.path, "data", "a", "b.csv"));
  });
  afterAll(() => {
    project.remove();
    outside.remove();
  });

  it("resolveDataPath returns a path whose real location is inside the project, or a LoopmlError", async () => {
    const realProject = realpathSync(project.path);
    const names = fc.constantFrom(
      "data",
      "a",
      "b.csv",
      "out",
      "link",
      "secret.csv",
      "..",
      ".",
      "",
      ".loopml",
    );
    const input = fc.oneof(
      pathText,
      fc.array(names, { minLength: 1, maxLength: 4 }).map((s) => s.join("/")),
      fc.constant(join(outside.path, "secret.csv")),
    );
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(input, async (p) => {
        const got = await resolveDataPath(project.path, p).catch((e: unknown) => e);
        if (got instanceof Error) {
          expect(isLoopmlError(got), `${JSON.stringify(p)}: ${String(got)}`).toBe(true);
          expect(got.message).not.toMatch(/\n\s+at /);
          return;
        }
        accepted++;
        const { abs, rel } = got as DataPath;
        expect(inside(project.path, abs), p).toBe(true);
        expect(inside(realProject, realpathSync(abs)), p).toBe(true);
        expect(rel.split("/")).not.toContain("..");
      }),
      { seed: SEED, numRuns: 1500 },
    );
    expect(accepted).toBeGreaterThan(0);
  });
});
