/** `get_config(model | layer)` and `from_config(config)`: Keras config JSON (snake_case keys), both ways. */
import { KerasError, describeValue, within } from "../errors.js";
import { isModel } from "../model/guards.js";
import { isLayer, type Layer } from "../model/layer.js";
import type { Model } from "../model/model.js";
import { fromConfig, toConfig, type FunctionalConfig, type LayerConfig, type SequentialConfig } from "../io/config.js";
import { refuseArgumentsPast } from "../args.js";

export type { FunctionalConfig, LayerConfig, SequentialConfig } from "../io/config.js";

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * The Keras config of a model (`{ name, layers }`, functional models adding `input_layers` and
 * `output_layers` with Keras 2 `inbound_nodes`) or of a layer (`{ class_name, config }`). Weights are
 * not included: use get_weights(). Nested layers (bidirectional's `layer` and `backward_layer`,
 * time_distributed's `layer`, a recurrent layer's `cell`) are written as Keras `{ class_name, config }`.
 * A layer_lambda() or rnn_cell_custom() config marks its TypeScript function as not serialisable.
 *
 * @example
 * const config = get_config(model); // Keras's get_config() of the model
 */
export function get_config(object: Model | Layer): SequentialConfig | FunctionalConfig | LayerConfig {
  refuseArgumentsPast("get_config", ["object"], arguments);
  if (!isModel(object) && !isLayer(object))
    throw new KerasError("get_config", `\`object\` must be a model or a layer, got ${describeValue(object)}`);
  return deepFreeze(toConfig(object));
}

/**
 * Rebuilds a model or layer from a config made by get_config() (or by Keras: `model.get_config()`,
 * `{ class_name, config }`), nested layers included. The weights are drawn afresh from the
 * initializers; restore trained ones with set_weights(). Layers built on TypeScript functions
 * (layer_lambda, rnn_cell_custom) are refused with a KerasError saying how to rebuild them.
 *
 * @example
 * const copy = from_config(get_config(model));
 */
export function from_config(config: unknown): Model | Layer {
  const fn = "from_config";
  refuseArgumentsPast(fn, ["config"], arguments);
  try {
    return fromConfig(fn, config);
  } catch (e) {
    // Every problem is in `config`, whichever function rebuilding it found it (layer_dense, keras_model_sequential, ...).
    if (e instanceof KerasError && !e.message.startsWith(`${fn}(): \`config\``)) throw within(fn, "`config`", e);
    throw e;
  }
}
