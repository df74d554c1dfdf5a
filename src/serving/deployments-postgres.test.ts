import { usePostgres } from "../../test/setup/postgres.ts";
import { testDeployments } from "./deployments.contract.ts";

const pg = usePostgres("deployments");
testDeployments("postgres", () => Promise.resolve(pg.freshDatabaseUrl()));
