// A loopml.yaml that declares one of everything, shared by the loop tests.
export const EXAMPLE = `project: flights
datasets:
  flights: { path: data/flights.csv }
pipelines:
  train:
    stages:
      fit: { run: node train.js, deps: [dataset:flights@latest], outs: [model.json] }
models:
  flights-delay:
    description: late flights
    gate:
      metricRules: [{ metric: auc, op: ">=" }]
deployments:
  web:
    model: flights-delay@production
    canary: { model: flights-delay@challenger, weight: 0.1 }
    replicas: 2
monitors:
  web-drift:
    deployment: web
    reference: dataset:flights@1
    window: { rows: 5000 }
    driftShare: 0.3
    alerts: [{ when: "drift_share >= 0.3", severity: warning }]
schedules:
  nightly: { pipeline: train, cron: "0 2 * * *" }
retrain:
  flights-delay:
    on: { monitors: [web-drift], schedule: "0 3 * * 1" }
    automl: { target: late, timeBudget: 60s }
    data: { dataset: flights, window: { rows: 20000 } }
    cooldown: 1h
    budget: { maxRuns: 3, per: 1d }
`;
