// loopml deploy docker | k8s | lambda NAME: writes what runs a model or deployment as a container, on Kubernetes, or on AWS Lambda.
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { writeServingPackage, type PackageKind, type PackageRequest } from "../../../deploy/package-model.ts";
import { VERSION } from "../../program.ts";
import { withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";

interface DeployOptions {
  out?: string;
  alias: string;
  bake?: boolean;
  force?: boolean;
  port: number;
  image?: string;
  replicas?: number;
  minReplicas?: number;
  maxReplicas?: number;
  cpuTarget?: number;
  json?: boolean;
}

const HELP: Record<PackageKind, { what: string; example: string }> = {
  docker: {
    what: "write a Dockerfile that runs loopml serve for a deployment or NAME@ALIAS (--bake copies the model file in)",
    example: "loopml deploy docker churn --out deploy/docker && docker build -t churn-serving deploy/docker",
  },
  k8s: {
    what: "write Kubernetes manifests: a Deployment with readiness/liveness probes, a Service and a HorizontalPodAutoscaler",
    example:
      "loopml deploy k8s churn --image registry.example/churn-serving:1 --min-replicas 2 --max-replicas 10",
  },
  lambda: {
    what: "write an AWS Lambda handler (pure TypeScript, no Python layer) and a SAM template serving the current version",
    example:
      "loopml deploy lambda churn --alias production --out deploy/lambda && cd deploy/lambda && sam build && sam deploy --guided",
  },
};

export function registerDeployCommands(program: Command): void {
  const deploy = program
    .command("deploy")
    .description("package a model or deployment for Docker, Kubernetes or AWS Lambda")
    .exitOverride();
  for (const kind of ["docker", "k8s", "lambda"] as const) {
    const cmd = deploy
      .command(kind)
      .description(HELP[kind].what)
      .argument("<name>", "a deployment name, or a registered model name (served at --alias)")
      .option("-o, --out <dir>", `folder to write into (default deploy/${kind})`)
      .option("--alias <alias>", "the alias served when NAME is a model", "production")
      .option(
        "--port <port>",
        "port the server listens on inside the container",
        (v: string) => count(v, "--port"),
        8080,
      )
      .option("--force", "overwrite files that exist")
      .option("--json", "print JSON");
    if (kind === "docker")
      cmd.option(
        "--bake",
        "copy the current version's model file into the image instead of following the registry",
      );
    if (kind === "k8s") {
      cmd
        .option("--image <image>", "container image (built from loopml deploy docker)")
        .option("--bake", "the image has the model file baked in (no store Secret needed)")
        .option(
          "--replicas <n>",
          "a fixed replica count written into the Deployment (default: none, the autoscaler decides; every kubectl apply resets a fixed count)",
          (v: string) => count(v, "--replicas"),
        )
        .option("--min-replicas <n>", "autoscaler minimum", (v: string) => count(v, "--min-replicas"))
        .option("--max-replicas <n>", "autoscaler maximum", (v: string) => count(v, "--max-replicas"))
        .option("--cpu-target <percent>", "average CPU use the autoscaler aims for", (v: string) =>
          count(v, "--cpu-target"),
        );
    }
    cmd
      .addHelpText("after", `\nExample:\n  ${HELP[kind].example}`)
      .exitOverride()
      .action(async (name: string, opts: DeployOptions, command: Command) => {
        if (
          opts.minReplicas !== undefined &&
          opts.maxReplicas !== undefined &&
          opts.minReplicas > opts.maxReplicas
        ) {
          throw new LoopmlError(
            "INVALID_ARGUMENT",
            `--min-replicas ${opts.minReplicas} is above --max-replicas ${opts.maxReplicas}.`,
          );
        }
        const req: PackageRequest = {
          kind,
          name,
          alias: opts.alias,
          out: opts.out ?? `deploy/${kind}`,
          loopmlVersion: VERSION,
          port: opts.port,
          ...(opts.bake !== undefined && { bake: opts.bake }),
          ...(opts.force !== undefined && { force: opts.force }),
          ...(opts.image !== undefined && { image: opts.image }),
          ...(opts.replicas !== undefined && { replicas: opts.replicas }),
          ...(opts.minReplicas !== undefined && { minReplicas: opts.minReplicas }),
          ...(opts.maxReplicas !== undefined && { maxReplicas: opts.maxReplicas }),
          ...(opts.cpuTarget !== undefined && { cpuTarget: opts.cpuTarget }),
        };
        const result = await withWorkspace(command, (ws) => writeServingPackage(ws, req));
        emit(opts.json === true, result, () => `wrote ${result.files.join(", ")}`);
      });
  }
}

function count(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new LoopmlError("INVALID_ARGUMENT", `${flag} "${value}" must be a positive whole number.`);
  return n;
}
