// Public surface of the common learner interface (what AutoML, serving and the CLI use).
export { learner, type Learner, type LearnerOptions, type LearnerParams } from "./learner.ts";
export {
  LEARNER_KINDS,
  loadTabularModel,
  TabularModel,
  type LearnerKind,
  type TabularModelJson,
} from "./model.ts";
export { encodeTarget, labelsFor, type EncodedTarget, type Task } from "./target.ts";
