// GitHub Actions workflows for a loopml project (pure: file names and YAML text, from the desired state).
import { stringify } from "yaml";
import type { DesiredState } from "./desired-state.ts";

export interface WorkflowFile {
  readonly path: string;
  readonly content: string;
}

const NODE = { uses: "actions/setup-node@v4", with: { "node-version": 20, cache: "npm" } };
const CHECKOUT = { uses: "actions/checkout@v4" };
const INSTALL = { name: "Install", run: "npm ci" };
/** The project's stores: a shared metadata store and blob store, from repository secrets. */
const STORE_ENV = {
  LOOPML_STORE: "${{ secrets.LOOPML_STORE }}",
  LOOPML_ARTIFACTS: "${{ secrets.LOOPML_ARTIFACTS }}",
};

/**
 * ci.yml (push: install, lint, test), train.yml (schedule or dataset change: run the training pipeline, open the
 * promotion) and deploy.yml (apply loopml.yaml, generate and apply the Kubernetes manifests).
 * @example
 * for (const f of githubWorkflows(desired)) writeFileSync(f.path, f.content);
 */
export function githubWorkflows(desired: DesiredState): WorkflowFile[] {
  const file = desired.file;
  const retrain = Object.entries(file.retrain ?? {});
  const pipelines = [
    ...new Set(
      [...retrain.map(([, r]) => r.pipeline), ...desired.automation.schedules.map((s) => s.pipeline)].filter(
        (p): p is string => p !== undefined,
      ),
    ),
  ];
  const trainPipelines = pipelines.length > 0 ? pipelines : [...desired.pipelines.keys()].slice(0, 1);
  const cron =
    retrain.find(([, r]) => r.on.schedule !== undefined)?.[1].on.schedule ??
    desired.automation.schedules[0]?.cron.source ??
    "0 3 * * 1";
  const dataPaths = Object.values(file.datasets ?? {}).flatMap((d) => [d.path, `${d.path}.loopml`]);
  const models = Object.keys(file.models ?? {});
  const deployments = Object.keys(file.deployments ?? {});
  return [
    { path: ".github/workflows/ci.yml", content: yaml(ciWorkflow()) },
    {
      path: ".github/workflows/train.yml",
      content: yaml(trainWorkflow(trainPipelines, cron, dataPaths, models)),
    },
    { path: ".github/workflows/deploy.yml", content: yaml(deployWorkflow(deployments)) },
  ];
}

function ciWorkflow(): object {
  return {
    name: "ci",
    on: { push: { branches: ["**"] }, pull_request: {} },
    jobs: {
      test: {
        "runs-on": "ubuntu-latest",
        "timeout-minutes": 30,
        steps: [
          CHECKOUT,
          NODE,
          INSTALL,
          { name: "Lint", run: "npm run lint --if-present" },
          { name: "Test", run: "npm test" },
          {
            name: "Validate loopml.yaml",
            run: "npx loopml plan --store sqlite:/tmp/ci-plan.db --artifacts file:/tmp/ci-objects",
          },
        ],
      },
    },
  };
}

function trainWorkflow(
  pipelines: readonly string[],
  cron: string,
  dataPaths: readonly string[],
  models: readonly string[],
): object {
  const steps: object[] = [CHECKOUT, NODE, INSTALL];
  for (const p of pipelines)
    steps.push({ name: `Run pipeline ${p}`, run: `npx loopml run ${p}`, env: STORE_ENV });
  for (const m of models)
    steps.push({
      name: `Open the promotion of ${m}`,
      env: STORE_ENV,
      // The gate decides; with approvalFor set in loopml.yaml the promotion waits for an approver.
      run: [
        `latest=$(npx loopml models show ${m} --json | jq -r '.latestVersion // .model.latestVersion')`,
        `npx loopml models promote ${m} "$latest" --to production --reason "CI run $GITHUB_RUN_ID" || echo "::warning::the gate kept the champion of ${m}"`,
      ].join("\n"),
    });
  return {
    name: "train",
    on: {
      schedule: [{ cron }],
      workflow_dispatch: {},
      ...(dataPaths.length > 0 && { push: { branches: ["main"], paths: [...dataPaths] } }),
    },
    concurrency: { group: "train", "cancel-in-progress": false },
    jobs: { train: { "runs-on": "ubuntu-latest", "timeout-minutes": 120, steps } },
  };
}

function deployWorkflow(deployments: readonly string[]): object {
  const steps: object[] = [
    CHECKOUT,
    NODE,
    INSTALL,
    { name: "Plan", run: "npx loopml plan", env: STORE_ENV },
    { name: "Apply", run: "npx loopml apply", env: STORE_ENV },
  ];
  for (const d of deployments)
    steps.push({
      name: `Manifests for ${d}`,
      run: `npx loopml deploy k8s ${d} --out deploy/k8s/${d} --force`,
      env: STORE_ENV,
    });
  steps.push({
    name: "Apply the manifests",
    if: "${{ env.KUBECONFIG_DATA != '' }}",
    env: { KUBECONFIG_DATA: "${{ secrets.KUBECONFIG }}" },
    run: 'echo "$KUBECONFIG_DATA" > "$RUNNER_TEMP/kubeconfig"\nKUBECONFIG="$RUNNER_TEMP/kubeconfig" kubectl apply -R -f deploy/k8s',
  });
  return {
    name: "deploy",
    on: {
      push: { branches: ["main"], paths: ["loopml.yaml"] },
      workflow_run: { workflows: ["train"], types: ["completed"] },
      workflow_dispatch: {},
    },
    concurrency: { group: "deploy", "cancel-in-progress": false },
    jobs: { deploy: { "runs-on": "ubuntu-latest", "timeout-minutes": 30, environment: "production", steps } },
  };
}

function yaml(doc: object): string {
  return `# Written by loopml ci init; edit freely.\n${stringify(doc, { lineWidth: 0 })}`;
}
