/**
 * The runnable code of a markdown document (a vignette, the README): its ```ts blocks, found by the same
 * markdown parser that renders the site, so the tests and the site run exactly the blocks a reader sees.
 */
import { mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Lexer, Marked, type Token, type Tokens } from "marked";

/** The ```ts code tokens of `tokens`, in document order (also those nested in lists or quotes). */
export function tsCodeTokens(tokens: Token[]): Tokens.Code[] {
  const found: Tokens.Code[] = [];
  new Marked().walkTokens(tokens, (token) => {
    if (token.type === "code" && (token as Tokens.Code).lang?.split(/\s/)[0] === "ts") found.push(token as Tokens.Code);
  });
  return found;
}

/** The code of each ```ts block of `markdown`. */
export function tsBlocks(markdown: string): string[] {
  return tsCodeTokens(Lexer.lex(markdown)).map((token) => token.text);
}

/**
 * The blocks as one module: import statements (single- or multi-line) hoisted, so that blocks may import
 * as they go; imports from "tskeras" point at `tskeras` (a path); `beforeBlock(i)`, when given, is a
 * statement put before the code of block i (the site uses it to mark where each block's output starts).
 */
export function vignetteModule(
  blocks: string[],
  tskeras: string,
  beforeBlock: (index: number) => string = () => "",
): string {
  const imports: string[] = [];
  const body: string[] = [];
  blocks.forEach((block, index) => {
    body.push(beforeBlock(index));
    let pending: string[] | null = null;
    for (const line of block.split("\n")) {
      if (pending === null && /^import\s/.test(line)) pending = [];
      if (pending === null) {
        body.push(line);
        continue;
      }
      pending.push(line);
      if (/from\s+["'][^"']+["'];?\s*$/.test(line) || /^import\s+["'][^"']+["'];?\s*$/.test(line)) {
        imports.push(pending.join("\n"));
        pending = null;
      }
    }
  });
  const resolved = [...new Set(imports)].map((l) =>
    l.replace(/from\s+["']tskeras["']/, `from ${JSON.stringify(tskeras)}`),
  );
  return resolved.join("\n") + "\n" + body.join("\n");
}

/**
 * A temporary folder for a document's run (the child's TMPDIR), made inside `scratch`, so that what the
 * code writes to tmpdir() goes when `scratch` is removed; tsx's compile cache is linked in to stay warm.
 */
export function documentTmpdir(scratch: string): string {
  const dir = join(scratch, "tmp");
  mkdirSync(dir);
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith("tsx-")))
    symlinkSync(join(tmpdir(), name), join(dir, name));
  return dir;
}
