/**
 * layer_lambda: wraps a TypeScript function `f(x)` (or `f(x, arguments)`) of tensors as a layer.
 * The function cannot be serialised: get_config() says so and from_config() refuses it.
 */
import * as t from "io-ts";
import { Fn, Nullable, ShapeArg, described, isPlainRecord } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { formatShape } from "../../model/shape.js";
import type { Shape } from "../../model/types.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { functionConfig, refuseFunctionConfig } from "../common.js";

type ShapeFn = (inputShape: Shape) => (number | null)[];

export interface LambdaConfig {
  f: (x: Tensor, args?: Record<string, unknown>) => Tensor;
  /** Output shape without the batch axis, or a function of the input shape (batch axis included). */
  output_shape: (number | null)[] | ShapeFn | null;
  /** Output mask: a function `(x, mask) => mask`; null drops the mask (Keras: Lambda supports masking only when given one). */
  mask: ((x: Tensor, mask: Tensor | null) => Tensor | null) | null;
  arguments: Record<string, unknown> | null;
}

const call = (c: LambdaConfig, x: Tensor) => (c.arguments ? c.f(x, c.arguments) : c.f(x));

/**
 * Infers the output shape by running `f` on zeros, twice with different sizes for the unknown input
 * dims: an output dim that changes with them is unknown (null).
 */
function probeOutputShape(c: LambdaConfig, input: Shape): Shape {
  const run = (fill: number) =>
    tf.tidy(() => {
      const y = call(c, tf.zeros(input.map((d) => d ?? fill)));
      if (!(y instanceof tf.Tensor)) throw new KerasError("layer_lambda", "`f` must return a tensor");
      return y.shape;
    });
  let a: number[];
  let b: number[];
  try {
    a = run(2);
    b = run(3);
  } catch (e) {
    if (e instanceof KerasError) throw e;
    throw new KerasError(
      "layer_lambda",
      `\`f\` failed on an input of shape ${formatShape(input)} (${(e as Error).message}); give \`output_shape\` if it needs a particular input`,
      "shape",
    );
  }
  if (a.length !== b.length) return [null];
  return a.map((d, i) => (d === b[i] ? d : null));
}

export const layer_lambda = defineLayer<LambdaConfig>({
  className: "Lambda",
  fn: "layer_lambda",
  props: {
    f: Fn,
    output_shape: described(
      t.union([ShapeArg, Fn, t.null]),
      "a shape (batch axis excluded), a function of the input shape, or null",
    ),
    mask: Nullable(Fn),
    arguments: Nullable(described(t.refinement(t.UnknownRecord, isPlainRecord), "a record of named arguments")),
  },
  defaults: { output_shape: null, mask: null, arguments: null },
  required: ["f"],
  outputShape: (c, [input]) => {
    if (c.output_shape === null) return [probeOutputShape(c, input)];
    if (typeof c.output_shape === "function") return [c.output_shape(input)];
    return [[input[0], ...c.output_shape]];
  },
  forward: (c, { inputs: [x], masks: [mask] }) => ({ outputs: [call(c, x)], masks: [c.mask ? c.mask(x, mask) : null] }),
  toConfig: (c) => ({
    ...functionConfig(String(c.f), "layer_lambda()"),
    output_shape: typeof c.output_shape === "function" ? null : c.output_shape,
    arguments: c.arguments,
  }),
  fromConfig: (_config, fn) => refuseFunctionConfig(fn, "a Lambda layer's TypeScript function", "layer_lambda({ f })"),
});
