import { testMonitors } from "./monitors.contract.ts";

testMonitors("sqlite", () => Promise.resolve("sqlite:.loopml/loopml.db"));
