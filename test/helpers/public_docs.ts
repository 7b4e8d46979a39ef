/** The doc comments of the public API, read with the TypeScript compiler (as typedoc and editors read them). */
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** Each public function or constant (a value export of src/index.ts) and its doc comment's parts. */
export function publicDocs(): { name: string; file: string; doc: string; examples: string[] }[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.build.json"), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  })!;
  const index = join(root, "src/index.ts");
  const program = ts.createProgram([index], config.options);
  const checker = program.getTypeChecker();
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(index)!)!);
  return exports.flatMap((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!(symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable))) return [];
    const file = relative(root, symbol.declarations?.[0]?.getSourceFile().fileName ?? "");
    return [
      {
        name: exported.name,
        file,
        doc: ts.displayPartsToString(symbol.getDocumentationComment(checker)),
        examples: symbol
          .getJsDocTags(checker)
          .filter((t) => t.name === "example")
          .map((t) => ts.displayPartsToString(t.text)),
      },
    ];
  });
}
