import { usePostgres } from "../../test/setup/postgres.ts";
import { testMonitors } from "./monitors.contract.ts";

const pg = usePostgres("monitors");
testMonitors("postgres", () => Promise.resolve(pg.freshDatabaseUrl()));
