// An application's TypeScript (tests/consumer/tsc/usage.tsx) compiled with
// `tsc --strict --noEmit` against the package installed from its tarball:
// the entry points resolve through `exports` (with a bundler's resolution
// and with Node's), their types are right, and wrong event names and
// payloads are errors. Run from the repository root after
// `bash scripts/build.sh`:
//
//   node --test tests/consumer/

import { after, before, test } from "node:test";

import { consumerProject, workspaceBin } from "./project.mjs";

let project;

before(async () => {
  project = await consumerProject("tsc");
});

after(() => project?.remove());

test("compiles under moduleResolution Bundler, as in a Vite project", async () => {
  await workspaceBin(project.dir, "tsc", ["-p", "."]);
});

test("compiles under module and moduleResolution NodeNext", async () => {
  await workspaceBin(project.dir, "tsc", ["-p", ".", "--module", "nodenext", "--moduleResolution", "nodenext"]);
});
