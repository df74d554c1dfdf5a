import { testDeployments } from "./deployments.contract.ts";

testDeployments("sqlite", () => Promise.resolve("sqlite:.loopml/loopml.db"));
