/**
 * Applying a layer value: to a sequential model (append), to symbolic tensors (a node of a functional
 * graph) or to concrete data (an eager run through the runtime). The model tier holds layers as data
 * and cannot reach the engine, so this module installs the application into it when it is loaded
 * (src/index.ts and the layer families' index modules import it).
 */
import * as t from "io-ts";
import { KerasError, within } from "../errors.js";
import { Bool, decodeArgs, described } from "../args.js";
import { isModel, isSymbolicInput } from "../model/guards.js";
import { familyOf, installLayerApplication, type CallOptions, type Layer } from "../model/layer.js";
import { appendLayer } from "../model/sequential.js";
import { callSymbolic } from "../model/symbolic.js";
import { callEager } from "./eager.js";

const CALL_OPTION_PROPS = {
  mask: described(t.unknown, "a mask tensor"),
  initial_state: described(t.unknown, "a list of state tensors"),
  constants: described(t.unknown, "a list of constant tensors"),
  training: Bool,
};

function checkCallOptions(layer: Layer, options: unknown): void {
  const family = familyOf(layer);
  const fn = family.fn;
  try {
    const o = decodeArgs(fn, CALL_OPTION_PROPS, options, {});
    const states = ["initial_state", "constants"].filter((k) => o[k] !== undefined && o[k] !== null);
    if (states.length && !family.takesStates)
      throw new KerasError(fn, `\`${states[0]}\` is for recurrent layers; ${fn}() does not take it`);
  } catch (e) {
    if (!(e instanceof KerasError)) throw e;
    throw within(fn, `calling layer "${layer.name}"`, e);
  }
}

/** `layer(x, options)`: what the layer does to `x`, by what `x` is. */
export function applyLayer(layer: Layer, x: unknown, options?: CallOptions): unknown {
  if (options !== undefined) checkCallOptions(layer, options);
  if (isModel(x)) {
    if (options !== undefined)
      throw new KerasError(
        familyOf(layer).fn,
        "call options (mask, initial_state, ...) apply to tensors, not to a model",
      );
    return appendLayer(x, layer);
  }
  if (isSymbolicInput(x)) return callSymbolic(layer, x, options);
  return callEager(layer, x, options);
}

installLayerApplication(applyLayer);
