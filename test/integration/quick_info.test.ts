/**
 * Editors show R's argument names with their doc comments: the option types are derived from the codecs
 * (ArgsOf), and the doc comment on a codec's key must survive into the derived type. Checked with the
 * TypeScript language service, as an editor asks it (quick info on an argument of a call).
 */
import { expect } from "chai";
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));
/** A file that exists only in the language service's memory, beside this test. */
const file = join(here, "quick_info_sample.ts");
const sample = `import { layer_dense, layer_gru, bidirectional, layer_lstm } from "../../src/index.js";
layer_gru({ units: 4, reset_after: true, return_sequences: true });
layer_dense({ units: 2, input_shape: [3] });
bidirectional(layer_lstm({ units: 4 }), { merge_mode: "sum" });
`;

function languageService(): ts.LanguageService {
  const options = ts.parseJsonConfigFileContent(
    ts.readConfigFile(join(here, "../../tsconfig.json"), ts.sys.readFile).config,
    ts.sys,
    join(here, "../.."),
  ).options;
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => [file],
    getScriptVersion: () => "1",
    getScriptSnapshot: (f) =>
      f === file
        ? ts.ScriptSnapshot.fromString(sample)
        : existsSync(f)
          ? ts.ScriptSnapshot.fromString(readFileSync(f, "utf8"))
          : undefined,
    getCurrentDirectory: () => join(here, "../.."),
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (f) => f === file || ts.sys.fileExists(f),
    readFile: (f) => (f === file ? sample : ts.sys.readFile(f)),
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host);
}

let service: ts.LanguageService | undefined;
function quickInfo(marker: string): { text: string; doc: string } {
  service ??= languageService();
  const info = service.getQuickInfoAtPosition(file, sample.indexOf(marker));
  return {
    text: ts.displayPartsToString(info?.displayParts),
    doc: ts.displayPartsToString(info?.documentation),
  };
}

describe("types: editors show R's arguments with their documentation", function () {
  this.timeout(60000);

  it("a layer's own argument (layer_gru's reset_after) shows its type and doc comment", () => {
    const { text, doc } = quickInfo("reset_after");
    expect(text).to.equal("(property) reset_after?: boolean | undefined");
    expect(doc).to.match(/reset gate after the recurrent matrix product/);
  });

  it("a required argument is required (units), a shared one keeps its doc (return_sequences, input_shape)", () => {
    expect(quickInfo("units: 4").text).to.equal("(property) units: number");
    expect(quickInfo("return_sequences").doc).to.match(/output of every timestep/);
    const shape = quickInfo("input_shape");
    expect(shape.text).to.match(/input_shape\?: number \| readonly \(number \| null\)\[\] \| null \| undefined/);
    expect(shape.doc).to.match(/without the batch axis/);
  });

  it("a wrapper's arguments in R's call shape (bidirectional(layer, { merge_mode }))", () => {
    const { text, doc } = quickInfo("merge_mode");
    expect(text).to.match(/merge_mode\?: "concat" \| "sum" \| "ave" \| "mul" \| null/);
    expect(doc).to.match(/How the two outputs combine/);
  });
});
