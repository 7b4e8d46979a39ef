/**
 * Temporary folders of the test suites, and the check that none is left behind.
 *
 * Mocha loads this file before any test file (.mocharc.json `require`). The run gets a temporary folder
 * of its own and makes it the process's TMPDIR (which `os.tmpdir()`, Python's `tempfile` and every child
 * process follow), so what the tests leave there is theirs, not another process's in /tmp. The root
 * after-all hook below fails the run naming each leftover (and removes them, so a failing run leaves no
 * debris either). Suites make their folders with `temporaryFolders()`, which removes them in the suite's
 * after hook and fails when a write of the library left its temporary file there (atomic writes remove
 * theirs when they fail).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

const previous = process.env.TMPDIR;
const system = tmpdir();
const run = mkdtempSync(join(system, "tskeras-test-run-"));
/**
 * tsx (run by child processes: the examples, the fuzz child) keeps its compile cache in `tsx-<uid>` of the
 * temporary folder: the run's is a link to the system's, so children start with a warm cache.
 */
const TSX_CACHE = `tsx-${process.geteuid?.() ?? userInfo().username}`;
mkdirSync(join(system, TSX_CACHE), { recursive: true });
symlinkSync(join(system, TSX_CACHE), join(run, TSX_CACHE));
process.env.TMPDIR = run;

/**
 * For the suite it is called in: a function making a new temporary folder `<prefix>XXXXXX` (or
 * `<name>XXXXXX`) at each call;
 * the suite's after hook removes them all (called outside `describe()`, e.g. by a helper module: the root
 * suite's, after every test file).
 */
export function temporaryFolders(prefix = "tskeras-"): (name?: string) => string {
  const made: string[] = [];
  after(() => {
    const dirs = made.splice(0);
    const temporaries = dirs.flatMap(atomicTemporaries);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    if (temporaries.length)
      throw new Error(
        `writes left their temporary files behind (a failed write must remove them): ${temporaries.join(", ")}`,
      );
  });
  return (name = prefix) => {
    const dir = mkdtempSync(join(tmpdir(), name));
    made.push(dir);
    return dir;
  };
}

/** Temporary files of src/io/atomic.ts's writes (`<file>.<pid>.<counter>.tmp`) anywhere below `dir`. */
function atomicTemporaries(dir: string): string[] {
  if (!existsSync(dir)) return []; // removed by its test
  const names = readdirSync(dir, { recursive: true, encoding: "utf8" });
  return names.filter((name) => /\.\d+\.\d+\.tmp$/.test(name)).map((name) => join(dir, name));
}

/** Fails (after removing them) when the run's temporary folder holds anything but the tsx cache link. */
function noLeftovers(): void {
  const left = readdirSync(run).filter((name) => name !== TSX_CACHE);
  rmSync(run, { recursive: true, force: true });
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  if (left.length === 0) return;
  // mkdtemp's names end in 6 random characters: counted by what comes before.
  const counts = new Map<string, number>();
  for (const name of left) {
    const kind = /^(.+-)[A-Za-z0-9]{6}$/.exec(name)?.[1].concat("*") ?? name;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  throw new Error(
    `the tests left ${left.length} temporary files or folders (${[...counts].map(([k, n]) => `${k} x ${n}`).join(", ")}); make them with temporaryFolders() (test/helpers/temporary_folders.ts) or remove them in an after hook`,
  );
}

export const mochaHooks = {
  beforeAll(this: Mocha.Context): void {
    // Added to the root suite now, once the test files are loaded, so that it runs after their own
    // root-level after hooks (a temporaryFolders() called outside describe() registers one).
    this.test?.parent?.afterAll("no temporary files or folders are left behind", noLeftovers);
  },
};
