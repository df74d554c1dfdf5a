// Builds the command tree. Only the module of the command being run is loaded, so that `loopml data status`
// never pays for the HTTP server, the learners or the AWS SDK; --help and unknown commands load them all.
import type { Command as CommandType } from "commander";
import { Command } from "commander";

export const VERSION = "0.1.0";

type Register = (program: CommandType) => void;

/** Top-level command name → the module that registers it (some modules register two names). */
const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  init: async () => (await import("./commands/project/init.ts")).registerInitCommand,
  info: async () => (await import("./commands/project/info.ts")).registerInfoCommand,
  audit: async () => (await import("./commands/audit/index.ts")).registerAuditCommands,
  data: async () => (await import("./commands/data/index.ts")).registerDataCommands,
  drift: async () => (await import("./commands/drift/index.ts")).registerDriftCommand,
  monitor: async () => (await import("./commands/monitor/index.ts")).registerMonitorCommands,
  feedback: async () => (await import("./commands/feedback/index.ts")).registerFeedbackCommand,
  experiments: async () => (await import("./commands/experiments/index.ts")).registerExperimentCommands,
  runs: async () => (await import("./commands/runs/index.ts")).registerRunCommands,
  models: async () => (await import("./commands/models/index.ts")).registerModelCommands,
  run: async () => (await import("./commands/run/index.ts")).registerPipelineRunCommands,
  pipeline: async () => (await import("./commands/run/index.ts")).registerPipelineRunCommands,
  scheduler: async () => (await import("./commands/run/index.ts")).registerPipelineRunCommands,
  server: async () => (await import("./commands/server/index.ts")).registerServerCommands,
  serve: async () => (await import("./commands/serve/index.ts")).registerServeCommand,
  predict: async () => (await import("./commands/predict/index.ts")).registerPredictCommand,
  deploy: async () => (await import("./commands/deploy/index.ts")).registerDeployCommands,
  automl: async () => (await import("./commands/automl/index.ts")).registerAutomlCommand,
  train: async () => (await import("./commands/train/index.ts")).registerTrainCommand,
  worker: async () => (await import("./commands/worker/index.ts")).registerWorkerCommand,
  schema: async () => (await import("./commands/schema/index.ts")).registerSchemaCommand,
  plan: async () => (await import("./commands/plan/index.ts")).registerPlanCommand,
  apply: async () => (await import("./commands/apply/index.ts")).registerApplyCommand,
  up: async () => (await import("./commands/up/index.ts")).registerUpCommand,
  ci: async () => (await import("./commands/ci/index.ts")).registerCiCommands,
};

/** Global options that take a value, so that the scan below does not mistake the value for a command. */
const VALUE_OPTIONS = new Set(["-C", "--dir", "--store", "--artifacts"]);

/**
 * @param argv process.argv
 */
export async function createProgram(argv: readonly string[]): Promise<CommandType> {
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
  const args = argv.slice(2);
  const name = commandName(args);
  const versionOnly = name === undefined && (args.includes("-V") || args.includes("--version"));
  const loaders = versionOnly
    ? []
    : name !== undefined && COMMANDS[name]
      ? [COMMANDS[name]]
      : Object.values(COMMANDS);
  const registered = new Set<Register>();
  for (const load of loaders) {
    const register = await load();
    if (registered.has(register)) continue;
    registered.add(register);
    register(program);
  }
  return program;
}

function commandName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (VALUE_OPTIONS.has(a)) i++;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}
