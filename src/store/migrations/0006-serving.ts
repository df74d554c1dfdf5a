// Reserved slot for the serving module's tables; its owner replaces this body with the real migration.
import type { Kysely } from "kysely";

export async function up(_db: Kysely<unknown>): Promise<void> {
  // Intentionally empty until the serving tables land.
}
