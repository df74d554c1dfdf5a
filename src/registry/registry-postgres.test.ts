import { usePostgres } from "../../test/setup/postgres.ts";
import { testRegistry } from "./registry.contract.ts";

const pg = usePostgres("registry");
testRegistry("postgres", () => Promise.resolve(pg.freshDatabaseUrl()));
