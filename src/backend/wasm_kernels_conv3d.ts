/**
 * A JavaScript Conv3DBackpropInputV2 (the input gradient of conv3d) for the wasm backend, replacing
 * tfjs-backend-wasm 4.22's native kernel, whose results are wrong (checked against finite differences
 * and the cpu kernel: the input gradient of a 2x2x2 conv3d with 2 in and 3 out channels differs from
 * both, with "same" and "valid" padding alike; ConvLSTM3D training needs it through the recurrent conv).
 *
 * dx[b, d, r, c, i] = sum over filter taps (fd, fr, fc) and out channels o of
 *   dy[b, (d + front - fd) / sD, (r + top - fr) / sH, (c + left - fc) / sW, o] * W[fd, fr, fc, i, o]
 * where the output position is integral and in range. Dilations are 1, as in tfjs's conv3d gradient.
 * The layout is NDHWC (the only one tfjs's conv3d supports).
 */
import { tf } from "./tf.js";
import type { KernelArgs, TensorInfo, WasmBackendApi } from "./wasm_kernels.js";

export function conv3dBackpropInput({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const wasm = backend as WasmBackendApi;
  const { dy, filter } = inputs;
  const { pad, strides, inputShape } = attrs!;
  const info = tf.backend_util.computeConv3DInfo(
    inputShape,
    filter.shape as [number, number, number, number, number],
    strides,
    1,
    pad,
  );
  const dyv = wasm.readSync(dy.dataId);
  const w = wasm.readSync(filter.dataId);
  const { batchSize, inDepth, inHeight, inWidth, inChannels, outDepth, outHeight, outWidth, outChannels } = info;
  const { filterDepth, filterHeight, filterWidth, strideDepth, strideHeight, strideWidth } = info;
  const { front, top, left } = info.padInfo;
  const dx = new Float32Array(batchSize * inDepth * inHeight * inWidth * inChannels);
  const dyAt = (b: number, d: number, r: number, c: number) =>
    (((b * outDepth + d) * outHeight + r) * outWidth + c) * outChannels;
  const wAt = (fd: number, fr: number, fc: number, i: number) =>
    (((fd * filterHeight + fr) * filterWidth + fc) * inChannels + i) * outChannels;
  /** The output index that tap f of input position x feeds, or -1 when there is none. */
  const source = (x: number, pad: number, f: number, stride: number, outSize: number) => {
    const num = x + pad - f;
    if (num < 0 || num % stride !== 0) return -1;
    const y = num / stride;
    return y < outSize ? y : -1;
  };
  let k = 0;
  for (let b = 0; b < batchSize; b++)
    for (let d = 0; d < inDepth; d++)
      for (let r = 0; r < inHeight; r++)
        for (let c = 0; c < inWidth; c++)
          for (let i = 0; i < inChannels; i++, k++) {
            let sum = 0;
            for (let fd = 0; fd < filterDepth; fd++) {
              const yd = source(d, front, fd, strideDepth, outDepth);
              if (yd < 0) continue;
              for (let fr = 0; fr < filterHeight; fr++) {
                const yr = source(r, top, fr, strideHeight, outHeight);
                if (yr < 0) continue;
                for (let fc = 0; fc < filterWidth; fc++) {
                  const yc = source(c, left, fc, strideWidth, outWidth);
                  if (yc < 0) continue;
                  const dyBase = dyAt(b, yd, yr, yc);
                  const wBase = wAt(fd, fr, fc, i);
                  for (let o = 0; o < outChannels; o++) sum += dyv[dyBase + o] * w[wBase + o];
                }
              }
            }
            dx[k] = sum;
          }
  return wasm.makeOutput([batchSize, inDepth, inHeight, inWidth, inChannels], "float32", undefined, dx);
}

/**
 * A JavaScript Conv3DBackpropFilterV2 (the kernel gradient of conv3d) for the wasm backend, replacing
 * tfjs-backend-wasm 4.22's native kernel, whose results are wrong with strides (checked against the cpu
 * kernel and Keras: strides (2, 2, 2) leave entries of the gradient 0).
 *
 * dW[fd, fr, fc, i, o] = sum over batch and output positions (d, r, c) of
 *   x[b, d * sD + fd - front, r * sH + fr - top, c * sW + fc - left, i] * dy[b, d, r, c, o]
 * where the input position is in range. Dilations are 1, as in tfjs's conv3d gradient; layout NDHWC.
 */
export function conv3dBackpropFilter({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const wasm = backend as WasmBackendApi;
  const { x, dy } = inputs;
  const { pad, strides, filterShape } = attrs!;
  const info = tf.backend_util.computeConv3DInfo(
    x.shape as [number, number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
  );
  const xv = wasm.readSync(x.dataId);
  const dyv = wasm.readSync(dy.dataId);
  const { batchSize, inDepth, inHeight, inWidth, inChannels, outDepth, outHeight, outWidth, outChannels } = info;
  const { filterDepth, filterHeight, filterWidth, strideDepth, strideHeight, strideWidth } = info;
  const { front, top, left } = info.padInfo;
  const dw = new Float32Array(filterDepth * filterHeight * filterWidth * inChannels * outChannels);
  const xAt = (b: number, d: number, r: number, c: number) =>
    (((b * inDepth + d) * inHeight + r) * inWidth + c) * inChannels;
  const dyAt = (b: number, d: number, r: number, c: number) =>
    (((b * outDepth + d) * outHeight + r) * outWidth + c) * outChannels;
  const wAt = (fd: number, fr: number, fc: number) => ((fd * filterHeight + fr) * filterWidth + fc) * inChannels;
  for (let b = 0; b < batchSize; b++)
    for (let d = 0; d < outDepth; d++)
      for (let r = 0; r < outHeight; r++)
        for (let c = 0; c < outWidth; c++) {
          const dyBase = dyAt(b, d, r, c);
          for (let fd = 0; fd < filterDepth; fd++) {
            const xd = d * strideDepth + fd - front;
            if (xd < 0 || xd >= inDepth) continue;
            for (let fr = 0; fr < filterHeight; fr++) {
              const xr = r * strideHeight + fr - top;
              if (xr < 0 || xr >= inHeight) continue;
              for (let fc = 0; fc < filterWidth; fc++) {
                const xc = c * strideWidth + fc - left;
                if (xc < 0 || xc >= inWidth) continue;
                const xBase = xAt(b, xd, xr, xc);
                const wBase = wAt(fd, fr, fc) * outChannels;
                for (let i = 0; i < inChannels; i++) {
                  const xi = xv[xBase + i];
                  const row = wBase + i * outChannels;
                  for (let o = 0; o < outChannels; o++) dw[row + o] += xi * dyv[dyBase + o];
                }
              }
            }
          }
        }
  return wasm.makeOutput([...filterShape], "float32", undefined, dw);
}
