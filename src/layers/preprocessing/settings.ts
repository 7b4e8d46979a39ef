/** The lookup settings of any text layer value (null for other layers). */
import type { Layer } from "../../model/layer.js";
import { lookupSettings } from "./index_lookup.js";
import type { LookupSettings } from "./lookup.js";
import { textLookupSettings } from "./text_vectorization.js";

const TEXT_LAYERS: Readonly<Record<string, (c: Readonly<Record<string, any>>) => LookupSettings>> = {
  TextVectorization: textLookupSettings,
  StringLookup: (c) => lookupSettings(c, "string"),
  IntegerLookup: (c) => lookupSettings(c, "integer"),
};

export function textLayerSettings(layer: Layer): LookupSettings | null {
  const settingsOf = TEXT_LAYERS[layer.className];
  return settingsOf ? settingsOf(layer.config) : null;
}
