// Public surface of loopml's random forests and extra trees.
export { extraTrees, randomForest, type ForestParams, type ForestTrainer } from "./train.ts";
export { ForestModel, loadForestModel, type ForestModelJson, type ForestTask } from "./model.ts";
