// loopml worker: executes queued pipeline steps (LOOPML_QUEUE=redis://…) on this machine until stopped.
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { startStepWorker } from "../../../pipeline/queue-worker.ts";
import { startTrialWorker } from "../../../automl/queue-runner.ts";
import { withWorkspace } from "../../context.ts";

interface WorkerFlags {
  queue?: string;
  concurrency: string;
  lease: string;
  json?: boolean;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .description(
      "run queued pipeline steps: any number of workers on machines sharing the metadata store and blob store",
    )
    .option("--queue <uri>", "the Redis queue (env LOOPML_QUEUE), e.g. redis://10.0.0.5:6379/0")
    .option("--concurrency <n>", "steps at once on this worker", "1")
    .option(
      "--lease <seconds>",
      "a step claimed by a worker that stops renewing its lease is retried elsewhere after this",
      "30",
    )
    .option("--json", "print one JSON line per claimed and finished step")
    .addHelpText(
      "after",
      "\nExample:\n  LOOPML_QUEUE=redis://127.0.0.1:6379 LOOPML_STORE=postgres://ci@db/loopml LOOPML_ARTIFACTS=s3://ml/loopml loopml worker --concurrency 2\n  LOOPML_QUEUE=redis://127.0.0.1:6379 loopml run train   # on another machine: steps run on the workers",
    )
    .exitOverride()
    .action(async (opts: WorkerFlags, cmd: Command) => {
      const queue = opts.queue ?? process.env["LOOPML_QUEUE"];
      if (queue === undefined || queue === "")
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          "loopml worker needs a queue: --queue redis://HOST:PORT or LOOPML_QUEUE.",
        );
      const concurrency = Number(opts.concurrency);
      const lease = Number(opts.lease);
      if (!Number.isInteger(concurrency) || concurrency < 1)
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `--concurrency "${opts.concurrency}" must be a whole number ≥ 1.`,
        );
      if (!Number.isFinite(lease) || lease < 1)
        throw new LoopmlError("INVALID_ARGUMENT", `--lease "${opts.lease}" must be at least 1 second.`);
      const json = opts.json === true;
      await withWorkspace(cmd, async (ws) => {
        const worker = await startStepWorker(ws, {
          queue,
          concurrency,
          leaseMs: lease * 1000,
          onEvent: (e) => {
            if (json) process.stdout.write(`${JSON.stringify(e)}\n`);
            else if (e.type === "claimed")
              process.stdout.write(`→ ${e.step} (run ${e.runId}, attempt ${e.attempt})\n`);
            else
              process.stdout.write(
                `${e.ok ? "✓" : "✗"} ${e.step} (run ${e.runId}, attempt ${e.attempt})${e.duplicate ? " already done elsewhere" : ""}\n`,
              );
          },
        });
        // The same worker also runs queued AutoML trials (loopml automl with LOOPML_QUEUE).
        const trials = await startTrialWorker(ws.blobs, {
          queue,
          name: worker.name,
          concurrency,
          onTrial: (e) =>
            process.stdout.write(
              json
                ? `${JSON.stringify({ type: "trial", ...e })}\n`
                : `✓ automl trial ${e.learner} (${e.status})\n`,
            ),
        });
        process.stdout.write(
          json
            ? `${JSON.stringify({ type: "ready", worker: worker.name, concurrency })}\n`
            : `worker ${worker.name} ready (concurrency ${concurrency}, lease ${lease} s); Ctrl-C stops it\n`,
        );
        await new Promise<void>((resolve) => {
          const stop = (): void => resolve();
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        // Finishes the steps in hand, then leaves: nothing is left half-recorded.
        await worker.close();
        await trials.close();
      });
    });
}
