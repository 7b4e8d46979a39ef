/** The runnable code of a markdown document: which blocks run, and how they become one module. */
import { expect } from "chai";
import { tsBlocks, vignetteModule } from "../../scripts/vignette_code.js";

const markdown = [
  "# Title",
  "",
  "```ts",
  'import { a } from "tskeras";',
  "const x = a();",
  "```",
  "",
  "```sh",
  "npm test",
  "```",
  "",
  "- a list item with code:",
  "",
  "  ```ts",
  "  import {",
  "    b,",
  '  } from "fp-ts";',
  '  import "./side-effect.js";',
  "  console.log(b(x));",
  "  ```",
  "",
  "```typescript",
  "not run: only ts blocks run",
  "```",
].join("\n");

describe("vignette code (scripts/vignette_code.ts)", () => {
  it("finds the ts blocks in document order, also inside lists, and no others", () => {
    expect(tsBlocks(markdown)).to.deep.equal([
      'import { a } from "tskeras";\nconst x = a();',
      'import {\n  b,\n} from "fp-ts";\nimport "./side-effect.js";\nconsole.log(b(x));',
    ]);
  });

  it("hoists single- and multi-line imports, points tskeras at the given path, marks each block", () => {
    const code = vignetteModule(tsBlocks(markdown), "/src/index.ts", (i) => `mark(${i});`);
    expect(code.split("\n")).to.deep.equal([
      'import { a } from "/src/index.ts";',
      "import {",
      "  b,",
      '} from "fp-ts";',
      'import "./side-effect.js";',
      "mark(0);",
      "const x = a();",
      "mark(1);",
      "console.log(b(x));",
    ]);
  });

  it("imports repeated in later blocks appear once", () => {
    const code = vignetteModule(['import { a } from "tskeras";\na();', 'import { a } from "tskeras";\na();'], "/x.ts");
    expect(code.match(/import/g)).to.have.length(1);
  });
});
