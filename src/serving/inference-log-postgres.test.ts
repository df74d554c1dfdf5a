import { usePostgres } from "../../test/setup/postgres.ts";
import { testInferenceLog } from "./inference-log.contract.ts";

const pg = usePostgres("inference_log");
testInferenceLog("postgres", () => Promise.resolve(pg.freshDatabaseUrl()));
