// Registry edits beyond creation: descriptions, tags, rename and deletion of models and versions (each audited).
import type { Kysely } from "kysely";
import { canonicalJson } from "../_internal/hash.ts";
import { LoopmlError } from "../errors.ts";
import type { Database } from "../store/types.ts";
import { checkKeyValues, MAX_TAG_VALUE, checkKey } from "../tracking/validate.ts";
import { loadVersion, modelFromRow, requireModel } from "./rows.ts";
import type { RegistryDeps } from "./service.ts";

export interface RegistryEdits {
  updateModel(name: string, change: { description?: string }): Promise<void>;
  setModelTag(name: string, key: string, value: string): Promise<void>;
  deleteModelTag(name: string, key: string): Promise<void>;
  /** Moves the model, its versions, aliases, alias history and promotions to the new name. */
  renameModel(name: string, newName: string): Promise<void>;
  /** Removes the model with its versions and aliases; refused while a protected alias is set. */
  deleteModel(name: string): Promise<void>;
  updateVersion(name: string, version: number, change: { description?: string }): Promise<void>;
  setVersionTag(name: string, version: number, key: string, value: string): Promise<void>;
  deleteVersionTag(name: string, version: number, key: string): Promise<void>;
  /** Removes the version and the aliases pointing at it; refused while a protected alias points at it. Numbers are never reused. */
  deleteVersion(name: string, version: number): Promise<void>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

export function createRegistryEdits(deps: RegistryDeps, actor: string): RegistryEdits {
  const { store, audit, clock } = deps;

  async function editModel(
    name: string,
    action: string,
    change: (tags: Record<string, string>) => { description?: string; tags?: Record<string, string> },
  ): Promise<void> {
    await store.transaction(async (tx) => {
      const row = await requireModel(tx, name);
      const set = change(JSON.parse(row.tags) as Record<string, string>);
      await tx
        .updateTable("registered_models")
        .set({
          ...(set.description !== undefined && { description: set.description }),
          ...(set.tags !== undefined && { tags: canonicalJson(set.tags) }),
          updated_at: clock.now(),
        })
        .where("name", "=", name)
        .execute();
      await audit.append(tx, { actor, action, target: `model:${name}`, details: set });
    });
  }

  async function editVersion(
    name: string,
    version: number,
    action: string,
    change: (tags: Record<string, string>) => { description?: string; tags?: Record<string, string> },
  ): Promise<void> {
    await store.transaction(async (tx) => {
      const v = await loadVersion(tx, name, version);
      const set = change({ ...v.tags });
      await tx
        .updateTable("model_versions")
        .set({
          ...(set.description !== undefined && { description: set.description }),
          ...(set.tags !== undefined && { tags: canonicalJson(set.tags) }),
          updated_at: clock.now(),
        })
        .where("model", "=", name)
        .where("version", "=", version)
        .execute();
      await audit.append(tx, { actor, action, target: `model:${name}/${version}`, details: set });
    });
  }

  const withoutTag = (kind: string, key: string) => (tags: Record<string, string>) => {
    if (!(key in tags)) throw new LoopmlError("NOT_FOUND", `${kind} has no tag "${key}".`, { key });
    const { [key]: _gone, ...rest } = tags;
    return { tags: rest };
  };

  async function protectedHolders(tx: Kysely<Database>, name: string, version?: number): Promise<string[]> {
    const m = modelFromRow(await requireModel(tx, name), {});
    let q = tx.selectFrom("model_aliases").select("alias").where("model", "=", name);
    if (version !== undefined) q = q.where("version", "=", version);
    return (await q.execute()).map((r) => r.alias).filter((a) => m.policy.protectedAliases.includes(a));
  }

  return {
    updateModel: (name, change) => editModel(name, "model.update", () => change),
    setModelTag: (name, key, value) => {
      checkKeyValues("Model tag", [{ key, value }], MAX_TAG_VALUE);
      return editModel(name, "model.set-tag", (tags) => ({ tags: { ...tags, [key]: value } }));
    },
    deleteModelTag: (name, key) => editModel(name, "model.delete-tag", withoutTag(`Model "${name}"`, key)),
    updateVersion: (name, version, change) =>
      editVersion(name, version, "model.version.update", () => change),
    setVersionTag: (name, version, key, value) => {
      checkKeyValues("Version tag", [{ key, value }], MAX_TAG_VALUE);
      return editVersion(name, version, "model.version.set-tag", (tags) => ({
        tags: { ...tags, [key]: value },
      }));
    },
    deleteVersionTag: (name, version, key) => {
      checkKey("Version tag", key);
      return editVersion(
        name,
        version,
        "model.version.delete-tag",
        withoutTag(`Model "${name}" version ${version}`, key),
      );
    },
    renameModel: async (name, newName) => {
      if (typeof newName !== "string" || !NAME_RE.test(newName)) {
        throw new LoopmlError(
          "INVALID_ARGUMENT",
          `Model name "${String(newName)}" is invalid: 1–200 letters, digits, "_", "." or "-", starting with a letter or digit.`,
        );
      }
      await store.transaction(async (tx) => {
        const row = await requireModel(tx, name);
        const clash = await tx
          .selectFrom("registered_models")
          .select("name")
          .where("name", "=", newName)
          .executeTakeFirst();
        if (clash) throw new LoopmlError("ALREADY_EXISTS", `Model "${newName}" is already registered.`);
        await tx
          .insertInto("registered_models")
          .values({ ...row, name: newName, updated_at: clock.now() })
          .execute();
        for (const table of [
          "model_versions",
          "model_aliases",
          "model_alias_history",
          "model_promotions",
        ] as const)
          await tx.updateTable(table).set({ model: newName }).where("model", "=", name).execute();
        await tx.deleteFrom("registered_models").where("name", "=", name).execute();
        await audit.append(tx, {
          actor,
          action: "model.rename",
          target: `model:${name}`,
          details: { to: newName },
        });
      });
    },
    deleteModel: async (name) => {
      await store.transaction(async (tx) => {
        const held = await protectedHolders(tx, name);
        if (held.length > 0) {
          throw new LoopmlError(
            "FAILED_PRECONDITION",
            `Model "${name}" still holds protected aliases (${held.join(", ")}); remove them first.`,
          );
        }
        const versions = await tx
          .selectFrom("model_versions")
          .select("version")
          .where("model", "=", name)
          .execute();
        await tx.deleteFrom("model_aliases").where("model", "=", name).execute();
        await tx
          .deleteFrom("model_promotions")
          .where("model", "=", name)
          .where("status", "=", "pending")
          .execute();
        await tx.deleteFrom("model_versions").where("model", "=", name).execute();
        await tx.deleteFrom("registered_models").where("name", "=", name).execute();
        await audit.append(tx, {
          actor,
          action: "model.delete",
          target: `model:${name}`,
          details: { versions: versions.map((v) => v.version) },
        });
      });
    },
    deleteVersion: async (name, version) => {
      await store.transaction(async (tx) => {
        const v = await loadVersion(tx, name, version);
        const held = await protectedHolders(tx, name, version);
        if (held.length > 0) {
          throw new LoopmlError(
            "FAILED_PRECONDITION",
            `Model "${name}" version ${version} is held by protected aliases (${held.join(", ")}); promote another version first.`,
          );
        }
        await tx
          .deleteFrom("model_aliases")
          .where("model", "=", name)
          .where("version", "=", version)
          .execute();
        await tx
          .deleteFrom("model_promotions")
          .where("model", "=", name)
          .where("version", "=", version)
          .where("status", "=", "pending")
          .execute();
        await tx
          .deleteFrom("model_versions")
          .where("model", "=", name)
          .where("version", "=", version)
          .execute();
        await audit.append(tx, {
          actor,
          action: "model.version.delete",
          target: `model:${name}/${version}`,
          details: { aliases: v.aliases, blobId: v.blobId },
        });
      });
    },
  };
}
