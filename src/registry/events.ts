// The registry's in-process event bus: serving hot reload and CI subscribe to versions created and aliases moved.
import { EventEmitter } from "node:events";
import type { AliasMove, ModelVersion, Promotion } from "./types.ts";

export interface RegistryEventMap {
  "version.created": [ModelVersion];
  "alias.moved": [AliasMove];
  "promotion.pending": [Promotion];
  "promotion.rejected": [Promotion];
}

/**
 * Listeners run after the change committed; a listener that throws is logged by the emitter's
 * owner, never undoes the change.
 * @example
 * registry.events.on("alias.moved", (m) => console.log(`${m.model}@${m.alias} → v${m.to}`));
 */
export type RegistryEvents = EventEmitter<RegistryEventMap>;

export function createRegistryEvents(): RegistryEvents {
  const bus = new EventEmitter<RegistryEventMap>();
  bus.setMaxListeners(100);
  return bus;
}

/** Emits without letting a failing listener reach the caller whose change already committed. */
export function emitSafely<K extends keyof RegistryEventMap>(
  bus: RegistryEvents,
  event: K,
  ...args: RegistryEventMap[K]
): void {
  try {
    (bus.emit as (e: K, ...a: RegistryEventMap[K]) => boolean)(event, ...args);
  } catch {
    // A subscriber's bug must not turn a committed promotion into an error.
  }
}
