/** User functions given as arguments (activations, losses, regularizers, ...), checked when they run. */
import { tf, type Tensor } from "../backend/tf.js";
import { ArgumentError, callUser, describeValue } from "../errors.js";

/**
 * `f`, given by the user as `what` (e.g. "`activation` (a function)"), wrapped so that a throw, or a
 * result that is not a numeric tensor or that `problem` finds wrong, is an ArgumentError naming `what`
 * (the public function running it reports it as its KerasError).
 */
export function checkedTensorFunction<A extends unknown[]>(
  what: string,
  f: (...args: A) => unknown,
  problem?: (y: Tensor, ...args: A) => string | null,
): (...args: A) => Tensor {
  return (...args: A) => {
    const y = callUser(what, () => f(...args));
    if (!(y instanceof tf.Tensor) || y.dtype === "string" || y.dtype === "complex64")
      throw new ArgumentError(`${what} must return a numeric tensor, got ${describeValue(y)}`);
    const why = problem?.(y, ...args);
    if (why) throw new ArgumentError(`${what} must return ${why}`);
    return y;
  };
}

/** A `problem` for checkedTensorFunction: the result must have `shape`. */
export const shapeProblem = (y: Tensor, shape: readonly number[], of: string): string | null =>
  y.shape.join() === shape.join() ? null : `a tensor of ${of} [${shape.join(", ")}], got shape [${y.shape.join(", ")}]`;
