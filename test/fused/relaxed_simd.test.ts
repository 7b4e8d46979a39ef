/**
 * Relaxed SIMD's fused multiply-add in the fused kernels (wasm.ts `relaxedSimd()`): on by default where
 * the runtime has it (Node 20: behind a V8 flag the kernels turn on), off with TSKERAS_RELAXED_SIMD=0;
 * the numbers of both agree to float32 rounding. Each configuration runs in a child process (the choice
 * is made once per process).
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { relaxedSimd } from "../../src/layers/recurrent/fused/wasm.js";
import { GEMM_FUNCTIONS } from "../../src/layers/recurrent/fused/gemm.js";

const child = fileURLToPath(new URL("../helpers/threads_run.ts", import.meta.url));

function run(relaxed: "0" | "1") {
  const r = spawnSync(process.execPath, ["--import", "tsx", child, "wasm"], {
    encoding: "utf8",
    env: { ...process.env, TSKERAS_NUM_THREADS: "1", TSKERAS_RELAXED_SIMD: relaxed },
    timeout: 120000,
  });
  if (r.status !== 0) throw new Error(`threads_run.ts with TSKERAS_RELAXED_SIMD=${relaxed} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { out: Record<string, number[]>; relaxedSimd: boolean };
}

/** f32x4.relaxed_madd's bytes in a function body. */
const hasRelaxedMadd = (body: readonly number[]) =>
  body.some((b, i) => b === 0xfd && body[i + 1] === 0x85 && body[i + 2] === 0x02);

describe("fused kernels: relaxed SIMD multiply-add", function () {
  this.timeout(240000);

  it("is on in this process (Node 20 has it behind a flag) and the products use it", () => {
    expect(relaxedSimd()).to.equal(true);
    const gemm = GEMM_FUNCTIONS().find((f) => f.name === "gemm_nn")!;
    expect(hasRelaxedMadd(gemm.body)).to.equal(true);
  });

  it("TSKERAS_RELAXED_SIMD=0 turns it off; outputs and gradients agree with it on to float32 rounding", () => {
    const off = run("0");
    const on = run("1");
    expect(off.relaxedSimd).to.equal(false);
    expect(on.relaxedSimd).to.equal(true);
    for (const cell of Object.keys(off.out)) {
      const a = off.out[cell],
        b = on.out[cell];
      expect(b.length, cell).to.equal(a.length);
      const scale = Math.max(...a.map(Math.abs));
      const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
      expect(worst / scale, `${cell}: largest difference relative to the largest value`).to.be.below(1e-5);
      expect(
        a.some((v, i) => v !== b[i]),
        `${cell}: the two paths differ in the last bits (both really ran)`,
      ).to.equal(true);
    }
  });
});
