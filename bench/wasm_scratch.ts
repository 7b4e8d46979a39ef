/** Helpers of the kernel micro-benchmarks (gemm.ts, gemm_order.ts): scratch space in a kernel memory, CPU time. */

/** A bump allocator of float buffers in a kernel memory, from byte 64 on (byte offsets, 64-byte aligned, a block of slack each). */
export function scratchAllocator(): (floats: number) => number {
  let top = 64;
  return (n) => {
    const o = top;
    top += (n * 4 + 127) & ~63;
    return o;
  };
}

/** CPU time of this process (all threads), ms. */
export const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
