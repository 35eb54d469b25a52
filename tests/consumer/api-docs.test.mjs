// The API reference in docs/api/ is what TypeDoc makes of the package's
// declarations now: a doc comment changed in Rust (tsify) or in js/ and
// not regenerated fails here. `bash scripts/api-docs.sh` regenerates it.
// Run from the repository root after `bash scripts/build.sh`:
//
//   node --test tests/consumer/

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

import { ROOT } from "../e2e/helpers.mjs";

const DOCS = path.join(ROOT, "docs", "api");
const pages = (dir) => readdirSync(dir).filter((name) => name.endsWith(".md")).sort();

test("docs/api is generated from the current declarations", () => {
  const fresh = mkdtempSync(path.join(os.tmpdir(), "tabwire-api-"));
  try {
    execFileSync("bash", [path.join(ROOT, "scripts", "api-docs.sh"), fresh], { cwd: ROOT, stdio: "pipe" });
    assert.deepEqual(pages(fresh), pages(DOCS), "the same pages");
    for (const page of pages(DOCS)) {
      const expected = readFileSync(path.join(fresh, page), "utf8");
      assert.equal(readFileSync(path.join(DOCS, page), "utf8"), expected, `docs/api/${page} is stale: run bash scripts/api-docs.sh`);
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
});
