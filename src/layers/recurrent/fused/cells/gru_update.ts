/** The update gate both GRU variants share: h' = z·h + (1 − z)·hh and its gradients. */
import type { CellAlgebra, GradAlgebra, Input } from "./algebra.js";

/** h' = z·h + (1 − z)·hh, written hh + z·(h − hh): one tensor op fewer on the step-wise path. */
export const gruUpdate = <V>(A: CellAlgebra<V>, z: V, h: V, hh: V): V => A.add(hh, A.mul(z, A.sub(h, hh)));

/**
 * From g = ∂L/∂h': the gradients w.r.t. the pre-activations of hh and z, and the part of ∂L/∂h that
 * flows through the update directly (g·z).
 */
export function gruUpdateGrad<V>(A: GradAlgebra<V>, g: V, z: V, hh: V, hPrev: Input<V>): { dhh: V; dz: V; dhPrev: V } {
  return {
    dhh: A.mul(A.mul(g, A.sub(A.one, z)), A.dact(hh)),
    dz: A.mul(A.mul(g, A.sub(hPrev(), hh)), A.dract(z)),
    dhPrev: A.mul(g, z),
  };
}
