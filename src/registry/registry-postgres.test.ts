import { afterAll, beforeAll } from "vitest";
import { startPostgres, type PostgresServer } from "../../test/setup/postgres.ts";
import { testRegistry } from "./registry.contract.ts";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server.stop());

let n = 0;
testRegistry("postgres", () => {
  const db = `registry_${++n}`;
  server.createDatabase(db);
  return Promise.resolve(server.url(db));
});
