// loopml audit log | verify
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { formatStory, modelEvents } from "../../../loop/story.ts";
import { withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";

export function registerAuditCommands(program: Command): void {
  const audit = program.command("audit").description("the tamper-evident log of every change").exitOverride();

  audit
    .command("log")
    .description("list audit events, oldest first")
    .option("--target <target>", 'only events on this target, e.g. "dataset:flights"')
    .option("--target-prefix <prefix>", 'only targets starting with this, e.g. "model:churn"')
    .option("--model <name>", "one model's history (versions, aliases, retrains) told as a story")
    .option("--action <action>", 'only this action, e.g. "model.alias.move"')
    .option("--actor <actor>", "only events by this principal")
    .option("--after <seq>", "only events after this sequence number", parseNonNegativeInt)
    .option("--limit <n>", "at most this many events", parseNonNegativeInt, 1000)
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExample:\n  loopml audit log --target-prefix dataset: --limit 20\n  loopml audit log --model churn",
    )
    .exitOverride()
    .action(
      async (
        opts: {
          target?: string;
          targetPrefix?: string;
          action?: string;
          actor?: string;
          after?: number;
          limit: number;
          json?: boolean;
          model?: string;
        },
        cmd: Command,
      ) => {
        if (opts.model !== undefined) {
          const model = opts.model;
          const story = await withWorkspace(cmd, (ws) => modelEvents(ws.audit, model, opts.limit));
          emit(opts.json === true, story, () =>
            story.length === 0 ? `no audit events for model ${model}` : formatStory(story),
          );
          return;
        }
        const events = await withWorkspace(cmd, (ws) =>
          ws.audit.list({
            ...(opts.target !== undefined && { target: opts.target }),
            ...(opts.targetPrefix !== undefined && { targetPrefix: opts.targetPrefix }),
            ...(opts.action !== undefined && { action: opts.action }),
            ...(opts.actor !== undefined && { actor: opts.actor }),
            ...(opts.after !== undefined && { afterSeq: opts.after }),
            limit: opts.limit,
          }),
        );
        emit(opts.json === true, events, () =>
          events.length === 0
            ? "no audit events"
            : table(
                ["SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "DETAILS"],
                events.map((e) => [
                  String(e.seq),
                  e.ts,
                  e.actor,
                  e.action,
                  e.target,
                  JSON.stringify(e.details).slice(0, 80),
                ]),
              ),
        );
      },
    );

  audit
    .command("verify")
    .description("check that no audit event was altered, removed or reordered (exit 1 if one was)")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml audit verify")
    .exitOverride()
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const result = await withWorkspace(cmd, (ws) => ws.audit.verify());
      emit(opts.json === true, result, () =>
        result.ok
          ? `audit chain OK: ${result.events} events, head ${result.headHash.slice(0, 12)}`
          : `audit chain BROKEN at event ${result.brokenAt}: ${result.reason} (${result.events} events verified before it)`,
      );
      if (!result.ok) process.exitCode = 1;
    });
}

function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new LoopmlError("INVALID_ARGUMENT", `"${value}" is not a whole number ≥ 0.`);
  return n;
}
