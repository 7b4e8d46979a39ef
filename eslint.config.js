// Lint rules for tskeras: typescript-eslint's recommended set; formatting is prettier's job.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "docs/site/", ".venv-keras/", ".venv-peers/", "examples/output/"] },
  js.configs.recommended,
  // plain-JavaScript Node scripts (the benchmark's Node peer)
  {
    files: ["**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", performance: "readonly" } },
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
      // Public functions hand their `arguments` to refuseArgumentsPast (src/args.ts): a rest parameter
      // would make TypeScript accept the extra arguments that it refuses.
      "prefer-rest-params": "off",
    },
  },
);
