import { testRegistry } from "./registry.contract.ts";

testRegistry("sqlite", () => Promise.resolve("sqlite:.loopml/loopml.db"));
