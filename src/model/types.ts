/** Shared types of the spec tier: shapes, weights, layer families (DESIGN principle 5). */
import type { Tensor } from "../backend/tf.js";
import type { Props } from "../args.js";
import type { InitializerSpec } from "../ops/initializers.js";
import type { RegularizerSpec } from "../ops/regularizers.js";
import type { ConstraintSpec } from "../ops/constraints.js";
import type { RecurrentCell } from "../layers/recurrent/cell.js";
import type { HostOutput } from "../layers/preprocessing/host_data.js";

export type Dim = number | null;
/** A full shape including the batch axis; null = unknown. */
export type Shape = readonly Dim[];

export interface WeightSpec {
  /** Keras variable name, e.g. "kernel", "recurrent_kernel", "bias", "moving_mean". */
  readonly name: string;
  readonly shape: readonly number[];
  readonly initializer: InitializerSpec;
  readonly trainable: boolean;
  readonly regularizer?: RegularizerSpec | null;
  readonly constraint?: ConstraintSpec | null;
}

/** A weight's value: plain row-major float32 data (part of the immutable model value). */
export interface WeightValue {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
  readonly trainable: boolean;
}

/** What the graph hands a layer's forward function for one call. */
export interface ForwardContext {
  /** Primary inputs, in order (one for most layers; several for merge layers). */
  readonly inputs: readonly Tensor[];
  /** The layer's weights in `weights()` order (tf.Variables while training). */
  readonly weights: readonly Tensor[];
  /** Incoming mask per input (bool, shape (batch, time) for sequences), or null. */
  readonly masks: readonly (Tensor | null)[];
  readonly training: boolean;
  /**
   * FALSE when the layer is frozen (`trainable = FALSE`, e.g. by freeze_weights); undefined means
   * trainable. A frozen layer_batch_normalization runs in inference mode even in training (Keras >= 2.1).
   */
  readonly trainable?: boolean;
  /** Call-time `initial_state` tensors (recurrent layers). */
  readonly initialState?: readonly Tensor[];
  /** Call-time `constants` tensors (recurrent layers with custom cells). */
  readonly constants?: readonly Tensor[];
  /** Current recurrent state of a stateful layer (runtime-held), or undefined. */
  readonly state?: readonly Tensor[];
}

export interface ForwardResult {
  readonly outputs: readonly Tensor[];
  /** Output mask per output; when omitted the family's mask policy decides. */
  readonly masks?: readonly (Tensor | null)[];
  /** New recurrent state of a stateful layer. */
  readonly newState?: readonly Tensor[];
  /** New values of non-trainable weights (e.g. batch-norm moving statistics), training only. */
  readonly weightUpdates?: readonly { readonly index: number; readonly value: Tensor }[];
  /** Extra scalar losses (activity regularization). */
  readonly losses?: readonly Tensor[];
}

/** Shapes of the extra call-time inputs, for shape inference. */
export interface CallShapes {
  readonly initialState: readonly Shape[];
  readonly constants: readonly Shape[];
}

/**
 * A layer that runs on the host, before the tensor graph (the text preprocessing layers): it reads the
 * raw data of a model input (strings, or integers) and the graph's node for it passes on what it made.
 */
export interface HostLayer<C> {
  /** The dtype of the model input it reads (Keras's InputLayer dtype): "string" or "int64". */
  readonly inputDtype: (config: C) => string;
  /** Its output for raw data `x` (argument `what` of public function `fn`). */
  readonly encode: (config: C, x: unknown, fn: string, what: string) => HostOutput;
}

/**
 * One module per layer family exports one of these: codec and defaults, output shape, weight specs and
 * the forward function. The registry (by Keras class name) serves the API, from_config and summary().
 */
export interface LayerFamily<C extends Record<string, any> = Record<string, any>> {
  /** Keras class name, e.g. "GRU". */
  readonly className: string;
  /** The R function name used in error messages, e.g. "layer_gru". */
  readonly fn: string;
  /** io-ts codecs of the family's own arguments (the standard layer arguments are added). */
  readonly props: Props;
  /**
   * Keras config keys the R function does not take but a Keras config may hold (e.g. CuDNNGRU's
   * `go_backwards`): accepted by from_config only, kept in the layer's config like the props.
   */
  readonly configProps?: Props;
  readonly defaults: Readonly<Partial<C>>;
  readonly required?: readonly string[];
  /** Cross-argument checks and normalisation after decoding; throws KerasError. */
  readonly validate?: (config: C) => C;
  /** How `input_dim` maps to an input shape (default `[input_dim]`; sequences use `[null, input_dim]`). */
  readonly inputDimShape?: (inputDim: number) => (number | null)[];
  /**
   * The input shape (without batch axis) implied by the family's own arguments when no input-shape
   * argument is given, e.g. Embedding's K2 `input_length`. A family whose props include `input_dim`
   * owns that name (Embedding's vocabulary size): it then does not set the input shape.
   */
  readonly impliedInputShape?: (config: C) => (number | null)[] | null;
  /** TRUE when a call may give `initial_state` and `constants` (recurrent layers, cells, bidirectional). */
  readonly takesStates?: boolean;
  /**
   * Arguments Keras takes when the layer is called rather than when it is made (Attention's
   * `use_causal_mask`): layer arguments here, a node's kwargs in a Keras 3 file.
   */
  readonly callArgs?: readonly string[];
  /** Number of primary inputs: 1 (default) or "many" (merge layers). */
  readonly inputs?: 1 | "many";
  /** Output shapes (batch axis included) for the given input shapes; throws KerasError("shape"). */
  readonly outputShape: (config: C, inputShapes: readonly Shape[], call: CallShapes) => readonly Shape[];
  readonly weights?: (config: C, inputShapes: readonly Shape[]) => readonly WeightSpec[];
  readonly forward: (config: C, ctx: ForwardContext) => ForwardResult;
  /**
   * What the layer's data must be beyond its shape (Embedding: token indices below input_dim), checked
   * on the host where user data enters — an eager call, or a model input feeding the layer directly —
   * since tfjs kernels do not check it. Returns the problem (completing "`x` ...") or null.
   */
  readonly inputProblem?: (config: C, x: Tensor) => string | null;
  /**
   * Mask policy when forward returns no masks: "propagate" passes the first input mask on (default for
   * shape-preserving layers), "drop" returns none.
   */
  readonly mask?: "propagate" | "drop";
  /** Stateful recurrent layers: the state shapes (batch axis fixed), when config.stateful is TRUE. */
  readonly stateShapes?: (config: C, inputShapes: readonly Shape[]) => readonly Shape[];
  /** Keras `get_config()` form of the family config (default: the config itself, functions by name). */
  readonly toConfig?: (config: C) => Record<string, unknown>;
  /**
   * Inverse of toConfig (default: identity): the family's arguments from its Keras config. `fn` is the
   * public function reading the config (for errors and for rebuilding nested layers).
   */
  readonly fromConfig?: (config: Record<string, unknown>, fn: string) => Record<string, unknown>;
  /** Nested layers (wrappers): their weights are listed after the wrapper's own in get_weights(). */
  readonly sublayers?: (config: C) => readonly { readonly name: string; readonly layer: unknown }[];
  /**
   * Recurrent families: the computational cell behind a config, and what the family's values are — a
   * cell (`"cell"`: layer_gru_cell(), what layer_rnn() and stacks take) or a layer running that cell over
   * a sequence (`"layer"`: layer_gru()).
   */
  readonly recurrent?: { readonly role: "cell" | "layer"; readonly cell: (config: C) => RecurrentCell };
  /** Host layers (text preprocessing): see HostLayer. Their place is right after a model input. */
  readonly host?: HostLayer<C>;
}
