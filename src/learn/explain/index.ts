// Public surface of loopml's model explanations: TreeSHAP per prediction and global feature importance.
export {
  attachCovers,
  explainTrees,
  type ExplainOptions,
  type Explanation,
  type TreeModelView,
} from "./explain.ts";
export { countCovers } from "./covers.ts";
export { explainForest } from "./forest.ts";
export {
  permutationImportance,
  treeImportance,
  type MetricName,
  type PermutationImportance,
  type PermutationOptions,
  type Predictor,
} from "./importance.ts";
