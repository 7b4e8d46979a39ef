/**
 * Runs the fuzz cases that may crash or hang the process (absurd sizes) outside mocha. argv: the seed;
 * stdin: one JSON line, the ids of the cases to run (`export#index`), sent by the parent once it has
 * planned (this process builds its fixtures meanwhile, then plans only those exports). Prints one JSON
 * line per case as it starts and as it ends, so the parent knows which case a crash or a hang belongs
 * to (see runInChild in fuzz.test.ts).
 */
import { createInterface } from "node:readline";
import { enterSandbox, makeFixtures } from "./fixtures.js";
import { planCases } from "./cases.js";

const seed = Number(process.argv[2]);
enterSandbox();
const fx = await makeFixtures();
const lines = createInterface({ input: process.stdin });
const ids = JSON.parse((await lines[Symbol.asyncIterator]().next()).value ?? "[]") as string[];
lines.close();
const plan = await planCases(fx, seed, Infinity, [...new Set(ids.map((id) => id.split("#")[0]))]);
const cases = new Map(plan.cases.map((c) => [c.id, c]));
for (const id of ids) {
  const c = cases.get(id);
  if (!c) {
    console.log(JSON.stringify({ id, outcome: { kind: "crash", message: "no such case in the child's plan" } }));
    continue;
  }
  console.log(JSON.stringify({ id, start: true }));
  console.log(JSON.stringify({ id, outcome: await c.run() }));
}
// Exit once stdout is flushed (a pipe is written asynchronously); the backend may keep the process alive.
process.stdout.write("", () => process.exit(0));
