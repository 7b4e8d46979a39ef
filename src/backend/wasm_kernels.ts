/**
 * JavaScript kernels registered for the wasm backend where tfjs-backend-wasm 4.22 has none
 * (PERF_NOTES "Missing wasm kernels"). Each reads its inputs with readSync, computes on typed
 * arrays and hands the result back with makeOutput.
 */
let registered = false;

export function registerWasmFallbackKernels(): void {
  if (registered) return;
  registered = true;
  // Filled in by the core-layers work: UnsortedSegmentSum, Conv2DBackpropFilter, ...
}
