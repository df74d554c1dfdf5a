// Public surface of loopml's linear learners.
export { linear, type LinearParams, type LinearPenalty, type LinearTrainer } from "./train.ts";
export { LinearModel, loadLinearModel, type LinearModelJson, type LinearTask } from "./model.ts";
