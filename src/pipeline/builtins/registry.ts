// Built-ins `register` (a model file becomes a registry version with its lineage) and `promote` (through the gate).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { LoopmlError } from "../../errors.ts";
import type { RegistryService } from "../../registry/service.ts";
import type { Workspace } from "../../workspace.ts";
import type { BuiltinStep } from "./types.ts";

async function registryOf(ws: Workspace): Promise<RegistryService> {
  const { createRegistryService } = await import("../../registry/service.ts");
  const { createRegistryEvents } = await import("../../registry/events.ts");
  // A pipeline acts for the user who started it, who owns the local store (as the CLI does).
  return createRegistryService(
    { ...ws, events: createRegistryEvents() },
    { actor: ws.config.actor, role: "admin" },
  );
}

const registerSchema = z
  .object({
    /** The model file, e.g. an automl step's output. */
    model: z.string().min(1),
    /** The registered model's name; created on first use. */
    name: z.string().min(1).max(200),
    /** A metrics JSON file (e.g. an evaluate step's) whose numbers the version carries for its gate. */
    metrics: z.string().optional(),
    description: z.string().default(""),
  })
  .strict();

export type RegisterWith = z.input<typeof registerSchema>;

/** What `register` writes and `promote` reads. */
export interface RegisteredFile {
  readonly model: string;
  readonly version: number;
}

export const registerStep: BuiltinStep<z.output<typeof registerSchema>> = {
  name: "register",
  version: "1",
  description: "store a model file as a new registry version, with its metrics, datasets and pipeline run",
  schema: registerSchema,
  io: (step, w) => ({
    deps: [
      { kind: "path", path: w.model },
      ...(w.metrics !== undefined ? [{ kind: "path" as const, path: w.metrics }] : []),
    ],
    outs: [`build/${step}/registered.json`],
  }),
  run: async (ctx, w, io) => {
    const ws = ctx.workspace;
    const registry = await registryOf(ws);
    try {
      await registry.getModel(w.name);
    } catch (e) {
      if (!(e instanceof LoopmlError && e.code === "NOT_FOUND")) throw e;
      await registry.createModel(w.name, { description: w.description });
    }
    const metrics =
      w.metrics === undefined
        ? undefined
        : numbers(JSON.parse(await readFile(join(ctx.cwd, w.metrics), "utf8")));
    const blob = await ws.blobs.putFile(join(ctx.cwd, w.model));
    const datasets =
      ctx.pipelineRunId === undefined ? [] : await datasetsBehind(ws, ctx.pipelineRunId, w.model);
    const v = await registry.createVersion(w.name, {
      blobId: blob.id,
      flavor: "native",
      ...(metrics !== undefined && { metrics }),
      datasets,
      ...(ctx.pipelineRunId !== undefined && { pipelineRun: ctx.pipelineRunId }),
      description: w.description,
      tags: { "loopml.step": ctx.step },
    });
    ctx.log(`registered ${w.name} v${v.version} (blob ${blob.id.slice(0, 12)})`);
    const out: RegisteredFile = { model: w.name, version: v.version };
    await writeFile(join(ctx.cwd, io.outs[0] as string), JSON.stringify(out));
  },
};

/** The dataset versions an output came from, through the steps of this pipeline run recorded so far. */
async function datasetsBehind(
  ws: Workspace,
  pipelineRunId: string,
  path: string,
): Promise<{ dataset: string; version: string; context: string }[]> {
  const { runLineage, traceOutput } = await import("../lineage.ts");
  const lineage = await runLineage(ws.store, pipelineRunId);
  if (!lineage.steps.some((s) => s.outputs.some((o) => o.path === path))) return [];
  return traceOutput(lineage, path).sources.flatMap((s) => {
    const m = /^dataset:([^@]+)@/.exec(s.dep);
    return m?.[1] ? [{ dataset: m[1], version: s.id, context: "training" }] : [];
  });
}

function numbers(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) if (typeof v === "number" && Number.isFinite(v)) out[k] = v;
  return out;
}

const promoteSchema = z
  .object({
    /** A register step's output (build/STEP/registered.json). */
    registered: z.string().min(1),
    /** The alias to move, e.g. "production". */
    to: z.string().min(1),
    /** "fail" (default): a refusing gate fails the step; "continue": the refusal is recorded as the result. */
    onRefusal: z.enum(["fail", "continue"]).default("fail"),
    reason: z.string().optional(),
  })
  .strict();

export type PromoteWith = z.input<typeof promoteSchema>;

export const promoteStep: BuiltinStep<z.output<typeof promoteSchema>> = {
  name: "promote",
  version: "1",
  description: "move an alias to the registered version if the model's gate passes",
  schema: promoteSchema,
  io: (step, w) => ({
    deps: [{ kind: "path", path: w.registered }],
    outs: [`build/${step}/promotion.json`],
    metrics: `build/${step}/promotion-metrics.json`,
  }),
  run: async (ctx, w, io) => {
    const reg = JSON.parse(await readFile(join(ctx.cwd, w.registered), "utf8")) as RegisteredFile;
    const registry = await registryOf(ctx.workspace);
    let outcome: Record<string, unknown>;
    try {
      const r = await registry.promote(reg.model, reg.version, {
        to: w.to,
        ...(w.reason !== undefined && { reason: w.reason }),
      });
      outcome =
        r.status === "moved"
          ? { status: "moved", report: r.report }
          : { status: "pending", promotion: r.promotion.id };
    } catch (e) {
      if (!(e instanceof LoopmlError && e.code === "FAILED_PRECONDITION") || w.onRefusal === "fail") throw e;
      outcome = { status: "refused", reason: e.message };
    }
    ctx.log(`${reg.model} v${reg.version} → @${w.to}: ${String(outcome["status"])}`);
    await writeFile(join(ctx.cwd, io.outs[0] as string), JSON.stringify({ ...reg, alias: w.to, ...outcome }));
    await writeFile(
      join(ctx.cwd, io.metrics as string),
      JSON.stringify({ promoted: outcome["status"] === "moved" ? 1 : 0 }),
    );
  },
};
