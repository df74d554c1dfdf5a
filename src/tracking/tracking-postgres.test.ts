import { afterAll, beforeAll } from "vitest";
import { startPostgres, type PostgresServer } from "../../test/setup/postgres.ts";
import { testTracking } from "./tracking.contract.ts";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server.stop());

let n = 0;
testTracking("postgres", () => {
  const db = `tracking_${++n}`;
  server.createDatabase(db);
  return Promise.resolve(server.url(db));
});
