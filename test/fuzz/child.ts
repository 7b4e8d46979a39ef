/**
 * Runs the fuzz cases that may crash or hang the process (absurd sizes) outside mocha: argv = the seed
 * and the case ids. Prints one JSON line per case as it starts and as it ends, so the parent knows which
 * case a crash or a hang belongs to (see runInChild in fuzz.test.ts).
 */
import { makeFixtures } from "./fixtures.js";
import { planCases } from "./cases.js";

const [seedArg, targetArg, ...ids] = process.argv.slice(2);
const fx = await makeFixtures();
const plan = await planCases(fx, Number(seedArg), Number(targetArg));
const byId = new Map(plan.cases.map((c) => [c.id, c]));
for (const id of ids) {
  const c = byId.get(id);
  if (!c) {
    console.log(JSON.stringify({ id, outcome: { kind: "crash", message: "no such case in the child's plan" } }));
    continue;
  }
  console.log(JSON.stringify({ id, start: true }));
  console.log(JSON.stringify({ id, outcome: await c.run() }));
}
process.exit(0);
