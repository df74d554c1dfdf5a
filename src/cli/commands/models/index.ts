// loopml models list | show | promote | approve | lineage
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { createRegistryEvents } from "../../../registry/events.ts";
import { createRegistryService, type RegistryService } from "../../../registry/service.ts";
import type { Workspace } from "../../../workspace.ts";
import { withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";
import { registerModelExportCommand } from "./export.ts";
import { registerModelImportCommand } from "./import.ts";

/** On the command line the local user owns the store, so acts as admin (the server checks roles per token). */
function registry(ws: Workspace): RegistryService {
  return createRegistryService(
    { ...ws, events: createRegistryEvents() },
    { actor: ws.config.actor, role: "admin" },
  );
}

/** `NAME@VERSION`, `NAME@alias` or `NAME VERSION`. */
function parseRef(ref: string, version?: string): { model: string; ref: number | string } {
  const at = ref.indexOf("@");
  const model = at < 0 ? ref : ref.slice(0, at);
  const v = at < 0 ? version : ref.slice(at + 1);
  if (model === "" || v === undefined || v === "") {
    throw new LoopmlError(
      "INVALID_ARGUMENT",
      `"${ref}" names no version: write NAME@VERSION or NAME@ALIAS, e.g. churn@3 or churn@champion.`,
    );
  }
  return { model, ref: /^\d+$/.test(v) ? Number(v) : v };
}

export function registerModelCommands(program: Command): void {
  const models = program
    .command("models")
    .description("the model registry: versions, aliases, gated promotion, lineage")
    .exitOverride();
  registerModelImportCommand(models);
  registerModelExportCommand(models);

  models
    .command("list")
    .description("registered models with their latest version and aliases")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml models list")
    .exitOverride()
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const list = await withWorkspace(cmd, (ws) => registry(ws).listModels());
      emit(opts.json === true, list, () =>
        list.length === 0
          ? "no registered models"
          : table(
              ["NAME", "LATEST", "ALIASES"],
              list.map((m) => [
                m.name,
                String(m.latestVersion),
                Object.entries(m.aliases)
                  .map(([a, v]) => `@${a}=v${v}`)
                  .join(" "),
              ]),
            ),
      );
    });

  models
    .command("show")
    .description("a model's versions, aliases, policy and pending promotions, or one version (NAME@V)")
    .argument("<name>", "NAME or NAME@VERSION or NAME@ALIAS")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExample:\n  loopml models show churn\n  loopml models show churn@champion --json",
    )
    .exitOverride()
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      if (name.includes("@")) {
        const { model, ref } = parseRef(name);
        const v = await withWorkspace(cmd, (ws) => registry(ws).getVersion(model, ref));
        emit(opts.json === true, v, () => JSON.stringify(v, null, 2));
        return;
      }
      const out = await withWorkspace(cmd, async (ws) => {
        const r = registry(ws);
        return {
          model: await r.getModel(name),
          versions: await r.listVersions(name),
          pending: await r.listPromotions(name, "pending"),
        };
      });
      emit(opts.json === true, out, () =>
        [
          `model ${out.model.name}  latest v${out.model.latestVersion}`,
          `policy ${JSON.stringify(out.model.policy)}`,
          "",
          table(
            ["VERSION", "FLAVOR", "ALIASES", "RUN", "METRICS"],
            out.versions.map((v) => [
              String(v.version),
              v.flavor ?? "-",
              v.aliases.map((a) => `@${a}`).join(" "),
              v.runId ?? "-",
              Object.entries(v.metrics)
                .map(([k, x]) => `${k}=${x}`)
                .join(" ")
                .slice(0, 60),
            ]),
          ),
          ...(out.pending.length > 0
            ? [
                "",
                "pending promotions:",
                ...out.pending.map((p) => `  ${p.id}  v${p.version} → @${p.alias}  by ${p.requestedBy}`),
              ]
            : []),
        ].join("\n"),
      );
    });

  models
    .command("promote")
    .description("move an alias (environment) to a version through the model's promotion gate")
    .argument("<name>", "model name")
    .argument("<version>", "version number")
    .requiredOption("--to <alias>", "the alias to move, e.g. production")
    .option("--force", "override a failed gate or required approval (admin; audited as forced)")
    .option("--reason <text>", "why, kept in the audit log")
    .option(
      "--expect <version>",
      "compare-and-set: refuse (CONFLICT) unless the alias still points at this version ('none' = unset)",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml models promote churn 4 --to production\n  loopml models promote churn 4 --to production --expect 3   # only if v3 still holds it",
    )
    .exitOverride()
    .action(
      async (
        name: string,
        version: string,
        opts: { to: string; force?: boolean; reason?: string; expect?: string; json?: boolean },
        cmd: Command,
      ) => {
        const { ref } = parseRef(name, version);
        if (typeof ref !== "number")
          throw new LoopmlError("INVALID_ARGUMENT", `"${version}" is not a version number.`);
        const expect = opts.expect === undefined ? undefined : expectedHolder(opts.expect);
        const result = await withWorkspace(cmd, (ws) =>
          registry(ws).promote(name, ref, {
            to: opts.to,
            ...(opts.force === true && { force: true }),
            ...(opts.reason !== undefined && { reason: opts.reason }),
            ...(expect !== undefined && { expect }),
          }),
        );
        emit(opts.json === true, result, () =>
          result.status === "pending"
            ? `gate passed; promotion ${result.promotion.id} of ${name} v${ref} to @${opts.to} waits for an approver: loopml models approve ${result.promotion.id}`
            : `${name}@${opts.to}: v${result.move.from ?? "-"} → v${result.move.to ?? "-"}${result.forced ? " (FORCED)" : ""}\n${result.report.rules.map((r) => `  ${r.passed ? "ok  " : "FAIL"} ${r.rule}: ${r.detail}`).join("\n")}`,
        );
      },
    );

  models
    .command("approve")
    .description("approve (or --reject) a pending promotion")
    .argument("<promotion-id>")
    .option("--reject", "reject instead of approving")
    .option("--reason <text>", "why, kept with the decision")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml models approve 7c1e… --reason 'reviewed the eval report'")
    .exitOverride()
    .action(async (id: string, opts: { reject?: boolean; reason?: string; json?: boolean }, cmd: Command) => {
      const p = await withWorkspace(cmd, (ws) =>
        registry(ws).decide(id, {
          approve: opts.reject !== true,
          ...(opts.reason !== undefined && { reason: opts.reason }),
        }),
      );
      emit(
        opts.json === true,
        p,
        () => `promotion ${p.id}: ${p.model} v${p.version} → @${p.alias} ${p.status}`,
      );
    });

  models
    .command("lineage")
    .description(
      "the chain behind a version: artifact blob, run, code version, dataset versions and their blob ids",
    )
    .argument("<ref>", "NAME@VERSION or NAME@ALIAS")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml models lineage churn@3")
    .exitOverride()
    .action(async (refText: string, opts: { json?: boolean }, cmd: Command) => {
      const { model, ref } = parseRef(refText);
      const l = await withWorkspace(cmd, (ws) => registry(ws).lineage(model, ref));
      emit(opts.json === true, l, () =>
        [
          `${l.model}@${l.version}`,
          `├─ artifact ${l.artifact.blobId ?? l.artifact.source} (${l.artifact.flavor ?? "unknown flavor"})`,
          `├─ code ${l.codeVersion ?? "-"}${l.pipelineRun ? `  pipeline run ${l.pipelineRun}` : ""}`,
          l.run
            ? `├─ run ${l.run.id} (${l.run.status}, experiment ${l.run.experimentId}) ${Object.entries(
                l.run.params,
              )
                .map(([k, v]) => `${k}=${v}`)
                .join(" ")}`
            : "├─ run -",
          ...l.datasets.map(
            (d, i) =>
              `${i === l.datasets.length - 1 ? "└" : "├"}─ dataset ${d.dataset}@${d.version} (${d.context}) ${d.blobId ?? "(not in loopml data)"}`,
          ),
        ].join("\n"),
      );
    });
}

/** `--expect 3` or `--expect none`: the holder the caller saw, for a compare-and-set promotion. */
function expectedHolder(text: string): number | null {
  if (text === "none") return null;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1)
    throw new LoopmlError("INVALID_ARGUMENT", `--expect takes a version number or "none", got "${text}".`);
  return v;
}
