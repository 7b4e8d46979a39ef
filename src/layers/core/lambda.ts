/**
 * layer_lambda: wraps a TypeScript function `f(x)` (or `f(x, arguments)`) of tensors as a layer.
 * The function cannot be serialised: get_config() says so and from_config() refuses it.
 */
import * as t from "io-ts";
import {
  FnOf,
  Nullable,
  accepting,
  mixed,
  PositiveInt,
  RecordOf,
  ShapeArg,
  described,
  type ConfigOf,
} from "../../args.js";
import { checkedTensorFunction } from "../../ops/user_functions.js";
import { ArgumentError, KerasError, asKerasError, callUser, describeValue } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { formatShape, shapesCompatible } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { functionConfig, refuseFunctionConfig } from "../common.js";

type ShapeFn = (inputShape: Shape) => (number | null)[];

const LAMBDA_PROPS = {
  /** The function of the input tensor (and of `arguments`, when given) returning the output tensor. */
  f: FnOf<(x: Tensor, args?: Record<string, unknown>) => Tensor>(),
  /** Output shape without the batch axis, or a function of the input shape (batch axis included); NULL: found by running `f`. */
  output_shape: accepting<number | readonly (number | null)[] | ShapeFn | null>()(
    described(
      t.union([mixed(ShapeArg), FnOf<ShapeFn>(), t.null]),
      "a shape (batch axis excluded), a function of the input shape, or null",
    ),
  ),
  /** Output mask: a function `(x, mask) => mask`; NULL drops the mask (Keras: Lambda supports masking only when given one). */
  mask: Nullable(FnOf<(x: Tensor, mask: Tensor | null) => Tensor | null>()),
  /** Named arguments handed to `f` after the input. */
  arguments: Nullable(RecordOf(t.unknown, "a record of named arguments")),
};
export type LambdaConfig = ConfigOf<typeof LAMBDA_PROPS>;

/** `f` on x: a numeric tensor, or an ArgumentError naming `f`. */
const call = (c: LambdaConfig, x: Tensor): Tensor =>
  checkedTensorFunction("`f`", (t: Tensor) => (c.arguments ? c.f(t, c.arguments) : c.f(t)))(x);

/** The output shape `output_shape` declares for `input` (null: none declared, `f` is probed). */
function declaredShape(c: LambdaConfig, input: Shape): Shape | null {
  if (c.output_shape === null) return null;
  if (typeof c.output_shape !== "function") return [input[0], ...c.output_shape];
  const shape = callUser("`output_shape` (a function of the input shape)", () => (c.output_shape as ShapeFn)(input));
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => d === null || PositiveInt.is(d)))
    throw new ArgumentError(
      `\`output_shape\` (a function of the input shape) must return a shape (batch axis included) of positive integers or null, got ${describeValue(shape)}`,
    );
  return shape;
}

/** The output mask from the user's `mask` function: null or a tensor. */
function outputMask(c: LambdaConfig, x: Tensor, mask: Tensor | null): Tensor | null {
  if (!c.mask) return null;
  const m = callUser("`mask` (a function)", () => c.mask!(x, mask));
  if (m !== null && (!(m instanceof tf.Tensor) || m.dtype === "string"))
    throw new ArgumentError(`\`mask\` (a function) must return a tensor or null, got ${describeValue(m)}`);
  return m;
}

/**
 * Infers the output shape by running `f` on zeros, twice with different sizes for the unknown input
 * dims: an output dim that changes with them is unknown (null).
 */
function probeOutputShape(c: LambdaConfig, input: Shape): Shape {
  const run = (fill: number) =>
    tf.tidy(() => {
      const y = call(c, tf.zeros(input.map((d) => d ?? fill)));
      return y.shape;
    });
  let a: number[];
  let b: number[];
  try {
    a = run(2);
    b = run(3);
  } catch (e) {
    if (e instanceof KerasError) throw e;
    // A junk result is the ArgumentError's to tell; a throw (its cause) may come from the probe's zeros.
    if (e instanceof ArgumentError && !e.cause) throw asKerasError("layer_lambda", e);
    const thrown = (e instanceof ArgumentError ? e.cause : e) as Error;
    throw new KerasError(
      "layer_lambda",
      `\`f\` failed on an input of shape ${formatShape(input)} (${thrown?.message}); give \`output_shape\` if it needs a particular input`,
      "shape",
      { cause: thrown },
    );
  }
  if (a.length !== b.length) return [null];
  return a.map((d, i) => (d === b[i] ? d : null));
}

/**
 * `layer_lambda(object, f, output_shape = NULL, mask = NULL, arguments = NULL)`: a TypeScript function of
 * tensors as a layer (not serialisable: rebuild it after loading a model).
 *
 * @example
 * const model = pipe(keras_model_sequential({ input_shape: [4] }), layer_lambda({ f: (x) => tf.mul(x, 2) }));
 */
export const layer_lambda = defineLayer({
  className: "Lambda",
  fn: "layer_lambda",
  props: LAMBDA_PROPS,
  defaults: { output_shape: null, mask: null, arguments: null },
  required: ["f"],
  outputShape: (c, [input]) => {
    try {
      return [declaredShape(c, input) ?? probeOutputShape(c, input)];
    } catch (e) {
      throw asKerasError("layer_lambda", e);
    }
  },
  forward: (c, { inputs: [x], masks: [mask] }) => {
    const y = call(c, x);
    const declared = declaredShape(c, x.shape);
    if (declared && !shapesCompatible(y.shape, declared))
      throw new ArgumentError(
        `\`f\` returned shape ${formatShape(y.shape)} where \`output_shape\` gives ${formatShape(declared)}`,
      );
    return { outputs: [y], masks: [outputMask(c, x, mask)] };
  },
  toConfig: (c) => ({
    ...functionConfig(String(c.f), "layer_lambda()"),
    // Files refer to the function by this name (Keras writes a named function so); custom_objects supply it.
    function_name: c.f.name || null,
    output_shape: typeof c.output_shape === "function" ? null : c.output_shape,
    arguments: c.arguments,
  }),
  fromConfig: (_config, fn) => refuseFunctionConfig(fn, "a Lambda layer's TypeScript function", "layer_lambda({ f })"),
});
