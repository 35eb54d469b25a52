// End-to-end test of permessage-deflate (RFC 7692) with a real browser:
// headless Chromium offers it by itself, and the reference server must agree
// to it, count it, and carry tabwire over it. Run from the repository root
// after building (see outbox.test.mjs):
//
//   node --test tests/e2e/compression.test.mjs

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";

import { closeBrowser, control, launchBrowser, ROOT, startServer, withTimeout } from "./helpers.mjs";

const PAGES_DIR = path.join(ROOT, "tests", "e2e", "pages");
/** Upper bound of any single wait. */
const WAIT_MS = 15_000;
/** Upper bound of a whole test. */
const TEST_MS = 45_000;

let server;
let browser;
let page;

before(async () => {
  server = await startServer({ www: PAGES_DIR, exitAfterSecs: 120, timeoutMs: WAIT_MS });
  browser = await launchBrowser();
  page = await browser.newPage();
  // A page of the server's origin without a client of its own.
  await page.goto(new URL("/away.html", server.origin).toString(), { waitUntil: "load", timeout: WAIT_MS });
}, { timeout: 60_000 });

after(async () => {
  await closeBrowser(browser);
  await server?.stop();
}, { timeout: 30_000 });

const wsUrl = (tag) => `${server.origin.replace(/^http/, "ws")}/ws?tag=${tag}`;
/** The echo endpoint without the tabwire protocol, for a plain browser WebSocket. */
const rawUrl = (tag) => `${server.origin.replace(/^http/, "ws")}/raw?tag=${tag}`;
const stats = (tag) => control(server.origin, "stats", { tag });

/** Runs `body(arg)` in the page, bounded. */
const inPage = (what, body, arg) => withTimeout(page.evaluate(body, arg), WAIT_MS, what);

test("a browser WebSocket negotiates permessage-deflate, counted in compressedConnections", { timeout: TEST_MS }, async () => {
  const tag = "deflate-ws";
  const extensions = await inPage("the WebSocket to open", async (url) => {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error("WebSocket error"));
    });
    window.socket = socket;
    return socket.extensions;
  }, rawUrl(tag));
  assert.equal(extensions, "permessage-deflate");
  const counted = await stats(tag);
  assert.equal(counted.connections, 1, JSON.stringify(counted));
  assert.equal(counted.compressedConnections, 1, JSON.stringify(counted));

  const text = "compress me, ".repeat(100);
  const echo = await inPage("the echo", (text) => new Promise((resolve) => {
    window.socket.onmessage = ({ data }) => resolve(data);
    window.socket.send(text);
  }), text);
  assert.equal(echo, text);
  await inPage("the WebSocket to close", () => new Promise((resolve) => {
    window.socket.onclose = resolve;
    window.socket.close();
  }));
});

test("a tabwire client works over a compressed connection", { timeout: TEST_MS }, async () => {
  const tag = "deflate-tabwire";
  const { receipt, ack, echo } = await inPage("a message to be echoed and acknowledged", async (url) => {
    const { default: init, TabWire } = await import("/pkg/tabwire.js");
    await init();
    const tw = new TabWire({ url, share: false, heartbeat: false, queue: { storage: "memory" } });
    const acked = new Promise((resolve) => tw.on("ack", ({ id }) => resolve(id)));
    const echoed = new Promise((resolve) => tw.on("message", ({ data }) => resolve(data)));
    const opened = new Promise((resolve) => tw.on("open", resolve));
    await opened;
    const receipt = tw.send({ hello: "compressed world" });
    const [ack, echo] = await Promise.all([acked, echoed]);
    window.tw = tw;
    return { receipt, ack, echo };
  }, wsUrl(tag));
  assert.equal(receipt.status, "sent");
  assert.equal(ack, receipt.id);
  assert.deepEqual(JSON.parse(echo), { hello: "compressed world" });
  const counted = await stats(tag);
  assert.equal(counted.protocolConnections, 1, JSON.stringify(counted));
  assert.equal(counted.compressedConnections, 1, JSON.stringify(counted));
  assert.deepEqual((await control(server.origin, "received", { tag })).frames, ['{"hello":"compressed world"}']);
});
