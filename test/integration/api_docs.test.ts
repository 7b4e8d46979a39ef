/**
 * The API reference (`npm run docs:api`, typedoc) is made from the doc comments: every public function
 * exported by src/index.ts has one, with a short `@example`.
 */
import { expect } from "chai";
import { publicDocs } from "../helpers/public_docs.js";

describe("API reference: every public function has a doc comment with an example", function () {
  this.timeout(180_000);

  it("value exports of src/index.ts", () => {
    const docs = publicDocs();
    expect(docs.length).to.be.greaterThan(200);
    const missing = docs.filter((d) => !d.doc.trim() || d.examples.every((e) => !e.trim()));
    expect(missing.map((d) => `${d.name} (${d.file})${d.doc.trim() ? "" : ": no doc comment"}`)).to.deep.equal([]);
  });
});
