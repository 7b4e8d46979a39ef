/**
 * The fused kernels' step functions (the gates' arithmetic of one timestep) of every cell, tanh / sigmoid,
 * 64 units, over B rows: WebAssembly SIMD against the native ones (fused/native_steps.ts) at AVX2's 8
 * lanes and, where the CPU has it, AVX-512's 16. CPU µs per call, best of 3 rounds.
 * `[B=16] npx tsx bench/step_functions.ts` (B = 16: one chunk of the batch; 1024: a whole predict batch)
 */
import { readFileSync } from "node:fs";
import { FUSED_CELLS } from "../src/layers/recurrent/fused/cells/index.js";
import { setNativeStepLanes, setNativeSteps, type StepLanes } from "../src/layers/recurrent/fused/native_steps.js";
import { rowBlocks, stepLayouts, strideParam } from "../src/layers/recurrent/fused/phase_layout.js";
import { kernelsFor, newMemory, type MemoryKernels } from "../src/layers/recurrent/fused/step_kernels.js";
import { cpuMs } from "./wasm_scratch.js";

const B = Number(process.env.B ?? 16),
  u = 64,
  u4 = 4 * u;
const memory = newMemory(4096);
const k = kernelsFor(memory) as MemoryKernels;
const f32 = new Float32Array(memory.buffer);
for (let i = 0; i < f32.length; i += 7) f32[i] = Math.sin(i);
const widths: StepLanes[] = /^flags\s*:.*\bavx512f\b/m.test(readFileSync("/proc/cpuinfo", "utf8")) ? [8, 16] : [8];
const variants: [string, () => void][] = [
  ["WebAssembly", () => setNativeSteps(false)],
  ...widths.map((w): [string, () => void] => [
    `native ${w} lanes`,
    () => (setNativeSteps(true), setNativeStepLanes(w)),
  ]),
];

console.log(`B = ${B} rows, ${u} units; CPU µs per call (best of 3)\n`);
console.log(
  `| step function | ${variants.map(([v]) => v).join(" | ")} |\n|---|${variants.map(() => "---:").join("|")}|`,
);
for (const cell of Object.values(FUSED_CELLS))
  for (const layout of stepLayouts(cell)) {
    if (layout.masked) continue;
    // every buffer B rows of its width, 64 KiB apart; no mask
    const args: Record<string, number> = { B, u4, mask: 0, mstride: 0 };
    let at = 1 << 16;
    for (const b of layout.buffers) {
      const width = (layout.shape.blocks.get(b as never) ?? 1) * u4;
      if (rowBlocks(b, cell) === "stride") args[strideParam(b)] = width;
      args[b] = at;
      at += Math.ceil((B * width) / 65536 + 1) * 65536;
    }
    const row = [layout.fname];
    for (const [, use] of variants) {
      use();
      const kernels = k.cell(cell, "tanh", "sigmoid");
      const step = [...kernels.forward, ...kernels.backward].find((s) => s.name === layout.fname)!;
      const reps = Math.max(20, Math.round(400000 / B));
      let best = Infinity;
      for (let round = 0; round < 3; round++) {
        const t = cpuMs();
        for (let r = 0; r < reps; r++) step.call(args);
        best = Math.min(best, ((cpuMs() - t) / reps) * 1000);
      }
      row.push(best.toFixed(2));
    }
    console.log(`| ${row.join(" | ")} |`);
  }
setNativeSteps(true);
