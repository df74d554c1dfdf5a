import { testTracking } from "./tracking.contract.ts";

testTracking("sqlite", () => Promise.resolve("sqlite:.loopml/loopml.db"));
