/**
 * Runs the fuzz cases that may crash or hang the process (absurd sizes) outside mocha. argv: the seed,
 * then either the number of cases to sample (the child plans like the parent, announces its risky
 * case ids, then runs them) or the ids of the cases to run (`export#index`, after a crash). Prints one
 * JSON line per case as it starts and as it ends, so the parent knows which case a crash or a hang
 * belongs to (see runInChild in fuzz.test.ts).
 */
import { makeFixtures } from "./fixtures.js";
import { planCases } from "./cases.js";

const [seedArg, ...rest] = process.argv.slice(2);
const seed = Number(seedArg);
const fx = await makeFixtures();
const byIds = rest.some((a) => a.includes("#"));
const plan = byIds
  ? await planCases(fx, seed, Infinity, [...new Set(rest.map((id) => id.split("#")[0]))])
  : await planCases(fx, seed, rest[0] === "all" ? Infinity : Number(rest[0]));
const cases = new Map(plan.cases.map((c) => [c.id, c]));
const ids = byIds ? rest : plan.cases.filter((c) => c.risky).map((c) => c.id);
console.log(JSON.stringify({ ids }));
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
