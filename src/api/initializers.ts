/** `initializer_*()` constructors (R names), returning plain initializer specs; arguments validated. */
import {
  INITIALIZER_CLASSES,
  initializerSpec,
  type InitializerArgs,
  type InitializerClass,
  type InitializerSpec,
} from "../ops/initializers.js";
import { snakeCase } from "../model/layer.js";
import { decodeArgs, refusingUnused } from "../args.js";

/**
 * The constructor of the initializer class `cls`: its arguments are typed and decoded by the class's
 * codecs (ops/initializers.ts), and it is named `initializer_<snake_case class>`.
 */
function initializer<K extends InitializerClass>(cls: K) {
  const { props, defaults } = INITIALIZER_CLASSES[cls];
  const fn = `initializer_${snakeCase(cls)}`;
  return refusingUnused(fn, ["args"], (args: InitializerArgs<K> = {} as InitializerArgs<K>): InitializerSpec =>
    initializerSpec(cls, decodeArgs(fn, props, args, defaults)),
  );
}

/**
 * `initializer_zeros()`: All zeros (Keras `Zeros`).
 *
 * @example
 * layer_dense({ units: 4, bias_initializer: initializer_zeros() });
 */
export const initializer_zeros = initializer("Zeros");
/**
 * `initializer_ones()`: All ones (Keras `Ones`).
 *
 * @example
 * layer_dense({ units: 4, bias_initializer: initializer_ones() });
 */
export const initializer_ones = initializer("Ones");
/**
 * `initializer_constant()`: Every value `value` (Keras `Constant`, value = 0).
 *
 * @example
 * layer_dense({ units: 4, bias_initializer: initializer_constant({ value: 0.1 }) });
 */
export const initializer_constant = initializer("Constant");
/**
 * `initializer_random_normal()`: Normal draws (Keras `RandomNormal`, mean = 0, stddev = 0.05).
 *
 * @example
 * layer_dense({ units: 4, kernel_initializer: initializer_random_normal({ stddev: 0.1, seed: 1 }) });
 */
export const initializer_random_normal = initializer("RandomNormal");
/**
 * `initializer_random_uniform()`: Uniform draws in [minval, maxval) (Keras `RandomUniform`, -0.05 to 0.05).
 *
 * @example
 * layer_dense({ units: 4, kernel_initializer: initializer_random_uniform({ minval: -0.1, maxval: 0.1 }) });
 */
export const initializer_random_uniform = initializer("RandomUniform");
/**
 * `initializer_truncated_normal()`: Normal draws within two standard deviations (Keras `TruncatedNormal`).
 *
 * @example
 * layer_dense({ units: 4, kernel_initializer: initializer_truncated_normal({ stddev: 0.1 }) });
 */
export const initializer_truncated_normal = initializer("TruncatedNormal");
/**
 * `initializer_variance_scaling()`: Draws scaled by the fan in / out (Keras `VarianceScaling`: scale = 1, mode = "fan_in", distribution = "truncated_normal").
 *
 * @example
 * layer_dense({ units: 4, kernel_initializer: initializer_variance_scaling({ scale: 2, mode: "fan_avg" }) });
 */
export const initializer_variance_scaling = initializer("VarianceScaling");
/**
 * `initializer_glorot_uniform()`: Glorot (Xavier) uniform: limit sqrt(6 / (fan_in + fan_out)); Keras's default kernel initializer.
 *
 * @example
 * layer_dense({ units: 4, kernel_initializer: initializer_glorot_uniform({ seed: 1 }) });
 */
export const initializer_glorot_uniform = initializer("GlorotUniform");
/**
 * `initializer_glorot_normal()`: Glorot (Xavier) normal: truncated normal, stddev sqrt(2 / (fan_in + fan_out)).
 *
 * @example
 * layer_dense({ units: 4, kernel_initializer: initializer_glorot_normal() });
 */
export const initializer_glorot_normal = initializer("GlorotNormal");
/**
 * `initializer_he_uniform()`: He uniform: limit sqrt(6 / fan_in).
 *
 * @example
 * layer_dense({ units: 4, activation: "relu", kernel_initializer: initializer_he_uniform() });
 */
export const initializer_he_uniform = initializer("HeUniform");
/**
 * `initializer_he_normal()`: He normal: truncated normal, stddev sqrt(2 / fan_in).
 *
 * @example
 * layer_dense({ units: 4, activation: "relu", kernel_initializer: initializer_he_normal() });
 */
export const initializer_he_normal = initializer("HeNormal");
/**
 * `initializer_lecun_uniform()`: LeCun uniform: limit sqrt(3 / fan_in).
 *
 * @example
 * layer_dense({ units: 4, activation: "selu", kernel_initializer: initializer_lecun_uniform() });
 */
export const initializer_lecun_uniform = initializer("LecunUniform");
/**
 * `initializer_lecun_normal()`: LeCun normal: truncated normal, stddev sqrt(1 / fan_in).
 *
 * @example
 * layer_dense({ units: 4, activation: "selu", kernel_initializer: initializer_lecun_normal() });
 */
export const initializer_lecun_normal = initializer("LecunNormal");
/**
 * `initializer_orthogonal()`: A random orthogonal matrix times `gain` (Keras `Orthogonal`); the recurrent layers' default recurrent initializer.
 *
 * @example
 * layer_lstm({ units: 8, recurrent_initializer: initializer_orthogonal({ gain: 1, seed: 1 }) });
 */
export const initializer_orthogonal = initializer("Orthogonal");
/**
 * `initializer_identity()`: The identity matrix times `gain` (Keras `Identity`; 2-D weights).
 *
 * @example
 * layer_simple_rnn({ units: 8, recurrent_initializer: initializer_identity() });
 */
export const initializer_identity = initializer("Identity");
