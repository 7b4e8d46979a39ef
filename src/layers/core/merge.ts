/**
 * Merge layers (family `inputs: "many"`): layer_add, layer_subtract, layer_multiply, layer_average,
 * layer_maximum, layer_minimum (element-wise, one factory), layer_concatenate and layer_dot.
 * R form: `layer_concatenate(list(a, b), axis = -1)` is `layer_concatenate([a, b], { axis: -1 })`.
 */
import * as t from "io-ts";
import { Bool, Int, described, type ConfigOf } from "../../args.js";
import { KerasError } from "../../errors.js";
import { defineLayer } from "../../model/layer.js";
import { formatShape, formatShapes, product } from "../../model/shape.js";
import type { Dim, Shape } from "../../model/types.js";
import { tf, type Tensor } from "../../backend/tf.js";
import { AxisArg, resolveAxis } from "./axes.js";

function atLeastTwo(fn: string, shapes: readonly Shape[], exactly?: number): void {
  if (exactly !== undefined ? shapes.length !== exactly : shapes.length < 2) {
    throw new KerasError(fn, `needs ${exactly ?? "at least 2"} input tensors (a list), got ${shapes.length}`, "shape");
  }
}

/** Keras's element-wise merge shape rule: per axis the dims must agree, where 1 broadcasts and None is unknown. */
function elementwiseShape(fn: string, shapes: readonly Shape[]): Shape {
  const rank = shapes[0].length;
  if (shapes.some((s) => s.length !== rank))
    throw new KerasError(fn, `inputs must have the same rank, got shapes ${formatShapes(shapes)}`, "shape");
  return shapes[0].map((_, i) => {
    const dims = shapes.map((s) => s[i]);
    const known = [...new Set(dims.filter((d): d is number => d !== null && d !== 1))];
    if (known.length > 1)
      throw new KerasError(
        fn,
        `inputs must have compatible shapes, got ${shapes.map(formatShape).join(" and ")}`,
        "shape",
      );
    if (known.length === 1) return known[0];
    return dims.some((d) => d === null) ? null : 1;
  });
}

/** Keras 3 Merge.compute_mask: the logical OR of the masks when every input has one, else none. */
function orMasks(masks: readonly (Tensor | null)[]): Tensor | null {
  if (masks.some((m) => m === null)) return null;
  const present = masks as readonly Tensor[];
  return present.slice(1).reduce((acc, m) => tf.logicalOr(acc, m), present[0]);
}

/** An input's mask spread over its feature axis, as Keras's `broadcast_to(expand_dims(mask, -1), shape(x))`. */
function maskOver(x: Tensor, mask: Tensor | null): Tensor | null {
  if (mask === null) return null;
  return mask.rank < x.rank ? tf.broadcastTo(tf.expandDims(mask, -1), x.shape) : mask;
}

/** Values of a merge given its inputs and their incoming masks (null where an input has none). */
type MergeValues = (xs: readonly Tensor[], masks: readonly (Tensor | null)[]) => Tensor;

function elementwiseMerge(className: string, fn: string, combine: MergeValues, exactly?: number) {
  return defineLayer({
    className,
    fn,
    props: {},
    defaults: {},
    inputs: "many",
    outputShape: (_c, shapes) => {
      atLeastTwo(fn, shapes, exactly);
      return [elementwiseShape(fn, shapes)];
    },
    forward: (_c, { inputs, masks }) => ({ outputs: [combine(inputs, masks)], masks: [orMasks(masks)] }),
  });
}

/**
 * Keras 3 Merge._apply_merge_op_and_or_mask (Maximum, Minimum), which has no identity element to put at
 * masked steps: where one side is masked the other side's value is taken, so a step masked in all inputs
 * keeps the first input's value. The substitution happens even when some input has no mask.
 */
function maskedFold(op: (a: Tensor, b: Tensor) => Tensor): MergeValues {
  return (xs, masks) => {
    let output = xs[0];
    let outputMask = maskOver(xs[0], masks[0]);
    for (let i = 1; i < xs.length; i++) {
      const mask = maskOver(xs[i], masks[i]);
      const x = mask ? tf.where(mask, xs[i], output) : xs[i];
      if (outputMask) output = tf.where(outputMask, output, x);
      outputMask = mask && outputMask ? tf.logicalOr(outputMask, mask) : null;
      output = op(output, x);
    }
    return output;
  };
}

/**
 * Keras 3 Multiply: masked steps count as 1 in the product; when every input has a mask, steps masked in
 * all of them are then 0.
 */
const maskedProduct: MergeValues = (xs, masks) => {
  const full = xs.map((x, i) => maskOver(x, masks[i]));
  const factors = xs.map((x, i) => {
    const mask = full[i];
    return mask ? tf.where(mask, x, tf.onesLike(x)) : x;
  });
  const product = factors.slice(1).reduce((a, b) => tf.mul(a, b), factors[0]);
  const anyKept = orMasks(full);
  return anyKept ? tf.where(anyKept, product, tf.zerosLike(product)) : product;
};

const sum = (xs: readonly Tensor[]) => xs.slice(1).reduce((a, b) => tf.add(a, b), xs[0]);

/**
 * `layer_add(inputs)`: the element-wise sum of a list of tensors of the same shape.
 *
 * @example
 * const [a, b] = [layer_input({ shape: [4] }), layer_input({ shape: [4] })];
 * const out = layer_add([a, b]);
 */
export const layer_add = elementwiseMerge("Add", "layer_add", sum);
/**
 * `layer_subtract(inputs)`: the first minus the second (exactly two) of a list of tensors of the same shape.
 *
 * @example
 * const [a, b] = [layer_input({ shape: [4] }), layer_input({ shape: [4] })];
 * const out = layer_subtract([a, b]);
 */
export const layer_subtract = elementwiseMerge("Subtract", "layer_subtract", ([a, b]) => tf.sub(a, b), 2);
/**
 * `layer_multiply(inputs)`: the element-wise product of a list of tensors of the same shape.
 *
 * @example
 * const [a, b] = [layer_input({ shape: [4] }), layer_input({ shape: [4] })];
 * const out = layer_multiply([a, b]);
 */
export const layer_multiply = elementwiseMerge("Multiply", "layer_multiply", maskedProduct);
/**
 * `layer_average(inputs)`: the element-wise mean of a list of tensors of the same shape.
 *
 * @example
 * const [a, b] = [layer_input({ shape: [4] }), layer_input({ shape: [4] })];
 * const out = layer_average([a, b]);
 */
export const layer_average = elementwiseMerge("Average", "layer_average", (xs) => tf.div(sum(xs), xs.length));
/**
 * `layer_maximum(inputs)`: the element-wise maximum of a list of tensors of the same shape.
 *
 * @example
 * const [a, b] = [layer_input({ shape: [4] }), layer_input({ shape: [4] })];
 * const out = layer_maximum([a, b]);
 */
export const layer_maximum = elementwiseMerge("Maximum", "layer_maximum", maskedFold(tf.maximum));
/**
 * `layer_minimum(inputs)`: the element-wise minimum of a list of tensors of the same shape.
 *
 * @example
 * const [a, b] = [layer_input({ shape: [4] }), layer_input({ shape: [4] })];
 * const out = layer_minimum([a, b]);
 */
export const layer_minimum = elementwiseMerge("Minimum", "layer_minimum", maskedFold(tf.minimum));

/**
 * `layer_concatenate(inputs, axis = -1)`: a list of tensors joined along `axis`.
 *
 * @example
 * const [a, b] = [layer_input({ shape: [4] }), layer_input({ shape: [2] })];
 * const out = layer_concatenate([a, b]); // shape (NA, 6)
 */
export const layer_concatenate = defineLayer({
  className: "Concatenate",
  fn: "layer_concatenate",
  props: {
    /** The axis to join along (negative: from the end; the batch axis is 0). */
    axis: AxisArg,
  },
  defaults: { axis: -1 },
  inputs: "many",
  outputShape: (c, shapes) => {
    const fn = "layer_concatenate";
    atLeastTwo(fn, shapes);
    const rank = shapes[0].length;
    const axis = resolveAxis(fn, c.axis, shapes[0]);
    const misfit = () =>
      new KerasError(
        fn,
        `inputs must match in every axis except the concatenation axis ${c.axis}, got shapes ${formatShapes(shapes)}`,
        "shape",
      );
    if (shapes.some((s) => s.length !== rank)) throw misfit();
    const out: Dim[] = [...shapes[0]];
    for (let i = 0; i < rank; i++) {
      const dims = shapes.map((s) => s[i]);
      if (i === axis) out[i] = dims.some((d) => d === null) ? null : (dims as number[]).reduce((a, b) => a + b, 0);
      else {
        const known = [...new Set(dims.filter((d) => d !== null))];
        if (known.length > 1) throw misfit();
        out[i] = known.length ? known[0] : null;
      }
    }
    return [out];
  },
  forward: (c, { inputs, masks }) => {
    const axis = c.axis < 0 ? inputs[0].rank + c.axis : c.axis;
    return { outputs: [tf.concat([...inputs], axis)], masks: [concatMask(inputs, masks, axis)] };
  },
});

/**
 * Keras 3 Concatenate.compute_mask: each input's mask (all-true when absent) broadcast to the input's
 * shape, concatenated along the axis, then any() over the last axis.
 */
function concatMask(inputs: readonly Tensor[], masks: readonly (Tensor | null)[], axis: number): Tensor | null {
  if (masks.every((m) => m === null)) return null;
  const full = inputs.map((x, i) => {
    const m = masks[i];
    if (m === null) return tf.onesLike(x).cast("bool");
    return m.rank < x.rank ? tf.broadcastTo(tf.expandDims(m, -1), x.shape) : m;
  });
  return tf.any(tf.concat(full, axis), -1);
}

const Axes = described(
  t.union([Int, t.refinement(t.array(Int), (a) => a.length === 2)]),
  "an integer axis or a pair of them (batch axis = 0)",
);

const DOT_PROPS = {
  /** The axis (or one axis per input) to take the dot product along; the batch axis is 0. */
  axes: Axes,
  /** L2-normalise both inputs along the axes first: the result is then the cosine proximity. */
  normalize: Bool,
};
export type DotConfig = ConfigOf<typeof DOT_PROPS>;

function dotAxes(c: DotConfig, shapes: readonly Shape[]): [number, number] {
  const fn = "layer_dot";
  const [a, b] = typeof c.axes === "number" ? [c.axes, c.axes] : c.axes;
  return [resolveAxis(fn, a, shapes[0], "`axes`"), resolveAxis(fn, b, shapes[1], "`axes`")];
}

/** Keras batch_dot's output shape: x without its axis, then y without batch and its axis; (batch,) becomes (batch, 1). */
function dotShape(x: Shape, y: Shape, ax: number, ay: number): Shape {
  const out = [...x.filter((_, i) => i !== ax), ...y.filter((_, i) => i !== 0 && i !== ay)];
  return out.length === 1 ? [out[0], 1] : out;
}

/**
 * `layer_dot(inputs, axes, normalize = FALSE)`: the dot product of two tensors along `axes`.
 *
 * @example
 * const [a, b] = [layer_input({ shape: [4] }), layer_input({ shape: [4] })];
 * const out = layer_dot([a, b], { axes: 1 }); // shape (NA, 1)
 */
export const layer_dot = defineLayer({
  className: "Dot",
  fn: "layer_dot",
  props: DOT_PROPS,
  defaults: { normalize: false },
  required: ["axes"],
  inputs: "many",
  mask: "drop",
  outputShape: (c, shapes) => {
    const fn = "layer_dot";
    atLeastTwo(fn, shapes, 2);
    const [x, y] = shapes;
    const [ax, ay] = dotAxes(c, shapes);
    if (x[ax] !== null && y[ay] !== null && x[ax] !== y[ay]) {
      throw new KerasError(
        fn,
        `the dot axes must have the same length: axis ${ax} of ${formatShape(x)} is ${x[ax]}, axis ${ay} of ${formatShape(y)} is ${y[ay]}`,
        "shape",
      );
    }
    return [dotShape(x, y, ax, ay)];
  },
  forward: (c, { inputs: [x0, y0] }) => {
    const [ax, ay] = dotAxes(c, [x0.shape, y0.shape]);
    const l2 = (v: Tensor, axis: number) => tf.div(v, tf.sqrt(tf.maximum(tf.sum(tf.square(v), axis, true), 1e-12)));
    const x = c.normalize ? l2(x0, ax) : x0;
    const y = c.normalize ? l2(y0, ay) : y0;
    // Move x's contracted axis last and y's to position 1, flatten the rest, one batched matMul.
    const restX = x.shape.filter((_, i) => i !== 0 && i !== ax);
    const restY = y.shape.filter((_, i) => i !== 0 && i !== ay);
    const xt = tf.transpose(x, [0, ...x.shape.map((_, i) => i).filter((i) => i !== 0 && i !== ax), ax]);
    const yt = tf.transpose(y, [0, ay, ...y.shape.map((_, i) => i).filter((i) => i !== 0 && i !== ay)]);
    const batch = x.shape[0];
    const k = x.shape[ax];
    const prod = tf.matMul(
      tf.reshape(xt, [batch, product(restX), k]) as tf.Tensor3D,
      tf.reshape(yt, [batch, k, product(restY)]) as tf.Tensor3D,
    );
    const outShape = dotShape(x.shape, y.shape, ax, ay) as number[];
    return { outputs: [tf.reshape(prod, outShape)] };
  },
});
