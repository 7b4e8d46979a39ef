/** Which execution path each recurrent layer of a model takes: the fused sequence kernels or the step-wise loop. */
import { KerasError, describeValue } from "../errors.js";
import { isModel } from "../model/guards.js";
import type { Model } from "../model/model.js";
import { isLayer, type Layer } from "../model/layer.js";
import { recurrentPlan } from "../layers/recurrent/rnn_layer.js";
import { nativeProductsStatus, type NativeStatus } from "../layers/recurrent/fused/native.js";
import { nativeStepsStatus } from "../layers/recurrent/fused/native_steps.js";
import { FUSED_CELLS } from "../layers/recurrent/fused/cells/index.js";
import type { FusedRun } from "../layers/recurrent/fused/plan.js";
import { Bool, decodeArgs, refuseArgumentsPast } from "../args.js";

export interface RnnPathRow {
  readonly layer: string;
  readonly class_name: string;
  readonly path: "fused" | "step-wise";
  /** Why the step-wise loop is used (null on the fused path). */
  readonly reason: string | null;
  /**
   * On the fused path, which matrix products its kernels use: "native (AVX-512)" or "native (AVX2 +
   * FMA)" (built with this machine's C compiler on first use; TSKERAS_NATIVE=0 turns them off) or
   * "WebAssembly SIMD: " and why not native. Both give the same numbers. Null on the step-wise path.
   */
  readonly products: string | null;
  /**
   * On the fused path, which step functions (the gates' arithmetic) its kernels use: "native (AVX-512)"
   * or "native (AVX2)" (generated for the layer's cell and activations and built on first use, where
   * the products are native) or "WebAssembly SIMD: " and why not native. Both give the same numbers. Null on the
   * step-wise path.
   */
  readonly steps: string | null;
}

/** Recurrent layers inside a layer value (itself, or the layers a wrapper holds), with a path prefix. */
function recurrentLayers(layer: Layer, prefix: string): { name: string; layer: Layer }[] {
  const inner = ["layer", "backward_layer"].map((k) => layer.config[k]).filter(isLayer);
  if (inner.length) return inner.flatMap((l, i) => recurrentLayers(l, `${prefix}/${i === 0 ? "forward" : "backward"}`));
  return [{ name: prefix, layer }];
}

/** What rnn_fused_status() says of a native path. */
const said = (s: NativeStatus): string => (s.isa ? `native (${s.isa})` : `WebAssembly SIMD: ${s.detail}`);

/** What rnn_fused_status() says of a fused layer's step functions. */
const stepsOf = (run: FusedRun): string =>
  said(nativeStepsStatus(FUSED_CELLS[run.cell], run.activation, run.recurrentActivation));

/**
 * `rnn_fused_status(model, { training })`: for each recurrent layer (wrapped ones included), whether its
 * calls run on the fused sequence kernels or the step-wise loop, and why. Both compute the same numbers;
 * the fused path is faster. Each row is the plan the layer's calls follow (the same `fusedPlan()` they
 * ask) on the backend in use now (see backend_info()), in training or inference, and on the fused path
 * which matrix products and step functions its kernels use (native AVX-512 or AVX2 where this machine
 * can build them).
 *
 * @example
 * console.table(rnn_fused_status(model)); // which path each recurrent layer takes, and why
 */
export function rnn_fused_status(model: Model, args: { training?: boolean } = {}): RnnPathRow[] {
  const fn = "rnn_fused_status";
  refuseArgumentsPast(fn, ["model", "args"], arguments);
  if (!isModel(model)) throw new KerasError(fn, `\`model\` must be a model, got ${describeValue(model)}`);
  const { training } = decodeArgs(fn, { training: Bool }, args, { training: false });
  const rows: RnnPathRow[] = [];
  const products = said(nativeProductsStatus());
  for (const top of model.layers) {
    for (const { name, layer } of recurrentLayers(top, top.name)) {
      const plan = recurrentPlan(layer, training);
      if (plan)
        rows.push(
          Object.freeze({
            layer: name,
            class_name: layer.className,
            path: plan.path,
            reason: plan.reason,
            products: plan.path === "fused" ? products : null,
            steps: plan.path === "fused" ? stepsOf(plan.run) : null,
          }),
        );
    }
  }
  return rows;
}
