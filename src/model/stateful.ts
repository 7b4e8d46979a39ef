/** The composition-time check that a stateful layer knows its batch size (KERAS_FACTS "Stateful"). */
import { KerasError } from "../errors.js";
import { familyOf, type Layer } from "./layer.js";
import type { Shape } from "./types.js";
import { formatShape } from "./shape.js";

export function isStatefulLayer(layer: Layer): boolean {
  return layer.config.stateful === true && familyOf(layer).stateShapes !== undefined;
}

export function checkStatefulBatch(layer: Layer, inputShapes: readonly Shape[], fn: string): void {
  if (!isStatefulLayer(layer)) return;
  if (inputShapes.length > 0 && inputShapes[0][0] === null) {
    throw new KerasError(
      fn,
      `layer "${layer.name}" is stateful, so it needs to know its batch size, but its input shape is ${formatShape(inputShapes[0])}. ` +
        "Give a fixed batch size in one of three ways: `batch_input_shape = c(batch, ...)` on the first layer " +
        "(e.g. batch_input_shape: [32, 10, 8]); `input_shape` together with `batch_size` (e.g. input_shape: [10, 8], batch_size: 32); " +
        "or an input with a known batch size (layer_input({ shape: [10, 8], batch_size: 32 }) or keras_model_sequential({ input_shape: [10, 8], batch_size: 32 })).",
      "shape",
    );
  }
}
