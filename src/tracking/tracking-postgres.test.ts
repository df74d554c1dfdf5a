import { usePostgres } from "../../test/setup/postgres.ts";
import { testTracking } from "./tracking.contract.ts";

const pg = usePostgres("tracking");
testTracking("postgres", () => Promise.resolve(pg.freshDatabaseUrl()));
