// A tiny application (tests/consumer/vite/) built by `vite build` with the
// package installed from its tarball, served by the reference server and
// run in headless Chromium: the built app loads the wasm that Vite emitted
// as an asset, connects to /ws, and shows the echo of what it sent. Run
// from the repository root after `bash scripts/build.sh` and
// `cargo build -p tabwire-server`:
//
//   node --test tests/consumer/

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { control } from "../e2e/helpers.mjs";
import { problemsOf, servedApp } from "./served.mjs";

const WAIT_MS = 15_000;

let app;

before(async () => {
  app = await servedApp("vite");
});

after(() => app?.close());

test("the built app loads its wasm asset, connects and shows the echo of its message", async () => {
  const tag = `vite-${process.pid}`;
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const problems = problemsOf(page);
  const wasm = [];
  page.on("response", (response) => {
    if (response.url().endsWith(".wasm")) wasm.push({ path: new URL(response.url()).pathname, status: response.status(), type: response.headers()["content-type"] });
  });
  try {
    await page.goto(`${app.server.origin}/?tag=${tag}`);
    await page.locator("#echo", { hasText: "hello from a Vite build" }).waitFor({ timeout: WAIT_MS });
    await page.locator("#state", { hasText: /^open$/ }).waitFor({ timeout: WAIT_MS });

    assert.equal(wasm.length, 1, JSON.stringify(wasm));
    assert.match(wasm[0].path, /^\/assets\/tabwire_bg-[\w-]+\.wasm$/, "Vite emitted the wasm as a hashed asset");
    assert.equal(wasm[0].status, 200);
    assert.equal(wasm[0].type, "application/wasm", "streaming instantiation needs the wasm type");
    const stats = await control(app.server.origin, "stats", { tag });
    assert.equal(stats.connections, 1);
    assert.equal(stats.protocolConnections, 1);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
