/**
 * A seeded fuzz of the whole public API (issue 9, "Bad input"): every export of src/index.ts, found at
 * run time, gets bad calls derived from its valid calls and its codecs (cases.ts); each must end in a
 * KerasError naming the export and the argument — never a raw error, a silent acceptance, a crash or a
 * hang. Cases that may allocate without bound run in a child process with a time limit. The cases run
 * inside a temporary folder (fixtures.ts sandbox: files written there, datasets from a local cache,
 * never the network), removed at the end; failed writes must leave no temporary files in it.
 *
 *   FUZZ_SEED=n       another seed (the default is fixed, so the suite is reproducible)
 *   FUZZ_CASES=n      cases to sample (default 6000, and a quarter of the generic cases; "all" for every case)
 *   FUZZ_CASE=id      only this case, sampled or not (ids like `layer_dense#17`, printed with each failure)
 *   FUZZ_SUMMARY=1    print the cases run per export
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { enterSandbox, filesBelow, leaveSandbox, makeFixtures, sandbox } from "./fixtures.js";
import {
  EXPORTS,
  genericCases,
  pastTheLastCases,
  planCases,
  verdict,
  type Case,
  type Outcome,
  type Plan,
} from "./cases.js";
import { Random } from "./random.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const TARGET = process.env.FUZZ_CASES === "all" ? Infinity : Number(process.env.FUZZ_CASES ?? 6000);
const ONLY = process.env.FUZZ_CASE;
/** A risky case running longer than this in the child is a hang. */
const CASE_TIMEOUT_MS = 15_000;

const CHILD = fileURLToPath(new URL("./child.ts", import.meta.url));
const REPOSITORY = process.cwd();

/**
 * Runs the risky cases (`ids`, known once this process has planned) in child processes, one after the
 * other. The first child starts at once, builds its fixtures meanwhile, then reads the ids on its stdin
 * and plans only their exports; a case that kills its process or outlives CASE_TIMEOUT_MS is recorded as
 * a crash and the rest go on in a new process.
 */
async function runInChild(ids: Promise<readonly string[]>): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  let pending: readonly string[] | null = null;
  for (;;) {
    const ran = outcomes.size;
    await new Promise<void>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", CHILD, String(SEED)], {
        stdio: ["pipe", "pipe", "pipe"],
        cwd: REPOSITORY,
        env: { ...process.env, FUZZ_SANDBOX: sandbox() },
      });
      void (pending ? Promise.resolve(pending) : ids).then(
        (list) => child.stdin.end(`${JSON.stringify(list)}\n`),
        () => child.kill("SIGKILL"),
      );
      child.stdin.on("error", () => undefined); // a child that died before reading
      let current: string | null = null;
      let timer: NodeJS.Timeout | undefined;
      let stderr = "";
      let buffered = "";
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (current)
            outcomes.set(current, { kind: "crash", message: `no answer after ${CASE_TIMEOUT_MS} ms (hang)` });
          child.kill("SIGKILL");
        }, CASE_TIMEOUT_MS);
      };
      child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
      child.stdout.on("data", (d) => {
        buffered += d;
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.startsWith("{")) continue;
          const msg = JSON.parse(line) as { id: string; start?: boolean; outcome?: Outcome };
          if (msg.start) {
            current = msg.id;
            arm();
          } else if (msg.outcome) {
            outcomes.set(msg.id, msg.outcome);
            current = null;
            clearTimeout(timer);
          }
        }
      });
      // "close": the process has ended and its output is read to the end.
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (current && !outcomes.has(current))
          outcomes.set(current, {
            kind: "crash",
            message: `the process ended (${signal ?? `exit code ${code}`}): ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
          });
        resolve();
      });
    });
    pending ??= await ids;
    const left: readonly string[] = pending.filter((id) => !outcomes.has(id));
    if (left.length === 0) return outcomes;
    // A child that answered for no case would loop forever: record the rest as crashed.
    if (outcomes.size === ran) {
      for (const id of left) outcomes.set(id, { kind: "crash", message: "the child process ran no case" });
      return outcomes;
    }
    pending = left;
  }
}

describe(`fuzz: bad input to every export is a KerasError (seed ${SEED}; FUZZ_SEED, FUZZ_CASES, FUZZ_CASE)`, function () {
  this.timeout(300_000);
  let plan: Plan;
  let child: Promise<Map<string, Outcome>>;
  const ran = new Map<string, number>();
  const selected = (c: Case) => !ONLY || c.id === ONLY;

  before(async () => {
    enterSandbox();
    let risky: (ids: readonly string[]) => void = () => undefined;
    child = runInChild(new Promise((resolve) => (risky = resolve)));
    const fx = await makeFixtures();
    plan = ONLY ? await planCases(fx, SEED, Infinity, [ONLY.split("#")[0]]) : await planCases(fx, SEED, TARGET);
    risky(plan.cases.filter((c) => c.risky && selected(c)).map((c) => c.id));
  });

  after(async () => {
    await child?.catch(() => undefined);
    leaveSandbox();
    if (!process.env.FUZZ_SUMMARY) return;
    const rows = [...ran.entries()].sort(([a], [b]) => a.localeCompare(b));
    console.log(`\n  fuzz seed ${SEED}: ${rows.reduce((n, [, k]) => n + k, 0)} cases over ${rows.length} exports`);
    for (const [name, n] of rows) console.log(`    ${name.padEnd(48)} ${n}`);
    if (plan.undescribed.length)
      console.log(
        `  exports with generic cases only (add them to test/fuzz/signatures.ts): ${plan.undescribed.join(", ")}`,
      );
  });

  it("runs every valid call, decodes every record of named arguments with decodeArgs, and has 5000+ cases", () => {
    expect(plan.baselineFailures, "valid calls that fail").to.deep.equal([]);
    expect(plan.undecoded, "records of named arguments not decoded by decodeArgs").to.deep.equal([]);
    if (!ONLY && TARGET >= 5000) expect(plan.cases.length).to.be.at.least(5000);
  });

  it("the generic cases (what an export without a signature gets) pass on every export", async function () {
    if (ONLY) this.skip();
    const fx = await makeFixtures();
    const failures: string[] = [];
    const rng = new Random(SEED, "generic");
    for (const name of EXPORTS) {
      const cases = genericCases(name, fx);
      // A seeded quarter of each export's (all of them with FUZZ_CASES=all): they seldom find anything new.
      const keep = TARGET === Infinity ? cases : rng.sample(cases, Math.ceil(cases.length / 4));
      for (const c of keep) {
        const why = verdict(c as Case, await c.run());
        if (why) failures.push(`${name}: ${c.description}: ${why}`);
      }
    }
    expect(failures).to.deep.equal([]);
  });

  it('every export refuses an argument past its last (as R\'s "unused argument")', async function () {
    if (ONLY) this.skip();
    const fx = await makeFixtures();
    const failures: string[] = [];
    for (const name of EXPORTS) {
      for (const c of pastTheLastCases(name, fx)) {
        const outcome = await c.run();
        const why =
          verdict(c as Case, outcome) ??
          (outcome.kind === "keras" && !/unused argument \d+/.test(outcome.message)
            ? `not refused as an unused argument: ${outcome.message}`
            : null);
        if (why) failures.push(`${name}: ${c.description}: ${why}`);
      }
    }
    expect(failures).to.deep.equal([]);
  });

  for (const name of EXPORTS) {
    it(name, async () => {
      const cases = plan.cases.filter((c) => c.exportName === name && selected(c));
      const failures: string[] = [];
      // The risky cases run in the child meanwhile: their outcomes are awaited last.
      for (const c of [...cases.filter((c) => !c.risky), ...cases.filter((c) => c.risky)]) {
        const outcome: Outcome = c.risky
          ? ((await child).get(c.id) ?? { kind: "crash", message: "the child process did not run it" })
          : await c.run();
        const why = verdict(c, outcome);
        if (why)
          failures.push(
            `${c.id} ${c.description}: ${why}\n      re-run: FUZZ_SEED=${SEED} FUZZ_CASE='${c.id}' npx mocha test/fuzz/fuzz.test.ts`,
          );
      }
      ran.set(name, cases.length);
      if (failures.length)
        expect.fail(`${failures.length} of ${cases.length} cases of ${name} failed:\n    ${failures.join("\n    ")}`);
    });
  }

  it("leaves no temporary files (failed writes clean up after themselves)", async () => {
    await child;
    expect(filesBelow(sandbox()).filter((f) => /\.tmp$/.test(f))).to.deep.equal([]);
  });
});
