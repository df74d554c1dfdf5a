// Public surface of loopml's gradient-boosted trees.
export { gbdt, type FitOptions, type GbdtTrainer } from "./train.ts";
export { GbdtModel, loadModel } from "./model.ts";
export type { FeatureSpec, GbdtModelJson, GbdtParams, ImportanceType, Objective } from "./types.ts";
