// loopml models import / export through the command tree: a loopml model file goes in, ONNX comes out
// and goes back in as an "onnx" version that predicts like the original.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isLoopmlError } from "../../../errors.ts";
import { frameFromColumns } from "../../../learn/frame.ts";
import { gbdt } from "../../../learn/gbdt/index.ts";
import { serializeModel } from "../../../learn/serialize/index.ts";
import { decodeColumns } from "../../../serving/decode.ts";
import { createOnnxRuntime } from "../../../serving/runtimes/onnx.ts";
import { registerModelCommands } from "./index.ts";

let dir: string;
let out: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "loopml-models-export-"));
  out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<unknown> {
  out = "";
  const p = new Command("loopml").option("-C, --dir <path>", "project folder", dir).exitOverride();
  registerModelCommands(p);
  await p.parseAsync(args, { from: "user" });
  return JSON.parse(out) as unknown;
}

async function errorOf(...args: string[]): Promise<unknown> {
  try {
    await run(...args);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("loopml models import / export", () => {
  it("imports a loopml model, exports it as ONNX, imports that as an onnx version that predicts the same", async () => {
    const x = Array.from({ length: 300 }, (_, i) => (i % 17 === 0 ? null : Math.sin(i)));
    const kind = Array.from({ length: 300 }, (_, i) => ["a", "b", "c"][i % 3] as string);
    const y = x.map((v, i) => ((v ?? 0.2) + (kind[i] === "a" ? 0.5 : 0) > 0.3 ? 1 : 0));
    const model = gbdt({ objective: "binary", nRounds: 10, maxDepth: 3, nThreads: 1 }).fit(
      frameFromColumns({ x, kind, y }),
      "y",
    );
    await writeFile(join(dir, "m.lmd"), serializeModel(model));

    const imported = (await run("models", "import", join(dir, "m.lmd"), "--name", "churn", "--json")) as {
      version: number;
      flavor: string;
      signature: { inputs: { name: string; type: string }[] };
    };
    expect(imported.version).toBe(1);
    expect(imported.flavor).toBe("native");
    expect(imported.signature.inputs).toEqual([
      { name: "x", type: "double" },
      { name: "kind", type: "string" },
    ]);

    const onnxFile = join(dir, "churn.onnx");
    const exported = (await run(
      "models",
      "export",
      "churn@1",
      "--format",
      "onnx",
      "--output",
      onnxFile,
      "--json",
    )) as {
      bytes: number;
      sha256: string;
    };
    const bytes = await readFile(onnxFile);
    expect(exported.bytes).toBe(bytes.length);
    const runtime = createOnnxRuntime(bytes);
    const test = { x: [0.4, null], kind: ["a", "zzz"] };
    const { probabilities } = runtime.predict(decodeColumns(runtime.signature, test));
    const native = model.predictProba(frameFromColumns({ x: test.x, kind: ["a", null] }));
    Array.from(native).forEach((p, i) =>
      expect(Math.abs(p - (probabilities?.[i] as number))).toBeLessThan(1e-6),
    );

    const onnxVersion = (await run("models", "import", onnxFile, "--name", "churn", "--json")) as {
      version: number;
      flavor: string;
      task: string;
    };
    expect(onnxVersion).toMatchObject({ version: 2, flavor: "onnx", task: "binary" });
    // An ONNX version exports as itself, byte for byte.
    await run("models", "export", "churn@2", "--output", join(dir, "again.onnx"), "--json");
    expect((await readFile(join(dir, "again.onnx"))).equals(bytes)).toBe(true);
  });

  it("refuses unknown formats, files it cannot classify and missing versions", async () => {
    expect(
      isLoopmlError(
        await errorOf("models", "export", "churn@1", "--format", "pmml", "--output", "x"),
        "INVALID_ARGUMENT",
      ),
    ).toBe(true);
    await writeFile(join(dir, "notes.txt"), "hello");
    expect(
      isLoopmlError(
        await errorOf("models", "import", join(dir, "notes.txt"), "--name", "m"),
        "INVALID_ARGUMENT",
      ),
    ).toBe(true);
    expect(
      isLoopmlError(
        await errorOf("models", "export", "nothing@1", "--output", join(dir, "o.onnx")),
        "NOT_FOUND",
      ),
    ).toBe(true);
  });
});
