/**
 * Layer families by Keras class name: used by the API, from_config and summary(). A user-defined class
 * (new_layer_class) is not registered: its layer values carry their family in their config under
 * `OWN_FAMILY`.
 */
import type { LayerFamily } from "./types.js";

export const OWN_FAMILY = Symbol.for("tskeras.own_family");

const families = new Map<string, LayerFamily<any>>();

export function registerFamily<C extends Record<string, any>>(family: LayerFamily<C>): LayerFamily<C> {
  families.set(family.className, family as LayerFamily<any>);
  return family;
}

export function getFamily(className: string): LayerFamily<any> | undefined {
  return families.get(className);
}

export function familyNames(): string[] {
  return [...families.keys()];
}
