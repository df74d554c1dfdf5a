import { testInferenceLog } from "./inference-log.contract.ts";

testInferenceLog("sqlite", () => Promise.resolve("sqlite:.loopml/loopml.db"));
