// Builds the command tree; each domain registers its verbs from cli/commands/<domain>/.
import { Command } from "commander";
import { registerAuditCommands } from "./commands/audit/index.ts";
import { registerDataCommands } from "./commands/data/index.ts";
import { registerDriftCommand } from "./commands/drift/index.ts";
import { registerInfoCommand } from "./commands/project/info.ts";
import { registerInitCommand } from "./commands/project/init.ts";
import { registerPredictCommand } from "./commands/predict/index.ts";
import { registerServeCommand } from "./commands/serve/index.ts";
import { registerExperimentCommands } from "./commands/experiments/index.ts";
import { registerModelCommands } from "./commands/models/index.ts";
import { registerPipelineRunCommands } from "./commands/run/index.ts";
import { registerRunCommands } from "./commands/runs/index.ts";
import { registerServerCommands } from "./commands/server/index.ts";

export const VERSION = "0.1.0";

export function createProgram(): Command {
  const program = new Command("loopml")
    .description(
      "The MLOps loop in one tool: version data, train, track, register, serve, monitor, retrain, audit.",
    )
    .version(VERSION)
    .option("-C, --dir <path>", "project folder", process.cwd())
    .option("--store <uri>", "metadata store: sqlite:PATH or postgres://USER@HOST:PORT/DB (env LOOPML_STORE)")
    .option("--artifacts <uri>", "blob store: file:PATH or s3://BUCKET/PREFIX (env LOOPML_ARTIFACTS)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerInitCommand(program);
  registerInfoCommand(program);
  registerAuditCommands(program);
  registerServeCommand(program);
  registerPredictCommand(program);
  registerDataCommands(program);
  registerDriftCommand(program);
  registerExperimentCommands(program);
  registerPipelineRunCommands(program);
  registerRunCommands(program);
  registerModelCommands(program);
  registerServerCommands(program);
  return program;
}
