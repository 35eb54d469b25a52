// End-to-end tests of the durable outbox (localStorage) in headless Chromium:
// messages survive a reload and a renderer crash, and are delivered exactly
// once and in order by the reference server's acknowledged, deduplicated
// protocol. Run from the repository root:
//
//   cargo build -p tabwire-server
//   bash scripts/build.sh
//   node --test tests/e2e/
//
// Two server instances: one serves the test page (tests/e2e/pages/) and
// /pkg/ and is never stopped, so the page's origin and its localStorage stay
// the same; the other runs the WebSocket on a fixed port, and the tests stop
// and restart it on that same port.

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";

import { closeBrowser, control, freePort, launchBrowser, ROOT, sleep, startServer, withTimeout } from "./helpers.mjs";

const PAGES_DIR = path.join(ROOT, "tests", "e2e", "pages");
/** Upper bound of any single wait. */
const WAIT_MS = 15_000;
/** Upper bound of a whole test. */
const TEST_MS = 45_000;
/** Every server exits by itself after this, whatever happens to the test run. */
const EXIT_AFTER_SECS = 150;
/** Distinguishes the queue keys of this run from any earlier one. */
const RUN = `${Date.now().toString(36)}-${process.pid}`;

/** Every server started, for `after`. */
const servers = new Set();
let pageServer;
/** The WebSocket server of the moment (stopped and restarted by the tests). */
let wsServer;
let wsPort;
let browser;

/** Starts a server that `after` stops, whatever happens. */
async function spawnServer(options) {
  const server = await startServer({ ...options, exitAfterSecs: EXIT_AFTER_SECS, timeoutMs: WAIT_MS });
  const stop = server.stop;
  // Stopped abruptly (no close frames), as a crash or a deploy would.
  server.stop = async () => {
    await stop("SIGKILL");
    servers.delete(server);
  };
  servers.add(server);
  return server;
}

/** (Re)starts the WebSocket server on `wsPort`; retries while the port is still held by the last one. */
async function startWsServer() {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      wsServer = await spawnServer({ port: wsPort, www: PAGES_DIR, testControl: true, allowOrigins: [pageServer.origin] });
      return wsServer;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

/** Kills the WebSocket server abruptly (no close frames), as a crash or a deploy would. */
async function killWsServer() {
  if (wsServer) await wsServer.stop();
  wsServer = undefined;
}

function wsControl(route, params) {
  return control(`http://127.0.0.1:${wsPort}`, route, params);
}

/** The URL of the test page, talking to the WebSocket server with `tag` and queue key `key`. */
function pageUrl(tag, key) {
  const ws = `ws://127.0.0.1:${wsPort}/ws?tag=${tag}`;
  return `${pageServer.origin}/outbox.html?ws=${encodeURIComponent(ws)}&key=${encodeURIComponent(key)}`;
}

/** Page errors and console errors of a page, collected from now on. */
function watch(page) {
  const seen = { pageErrors: [], consoleErrors: [], crashed: false };
  page.on("pageerror", (error) => seen.pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") seen.consoleErrors.push(message.text());
  });
  page.on("crash", () => {
    seen.crashed = true;
  });
  return seen;
}

/** Waits until the page created its client (after a load or a reload). */
async function clientReady(page) {
  await page.waitForFunction(() => window.ready === true, null, { timeout: WAIT_MS, polling: 20 });
  const initError = await page.evaluate(() => window.initError ?? null);
  assert.equal(initError, null, "the page created its client");
}

async function open(context, url) {
  const page = await context.newPage();
  const seen = watch(page);
  await page.goto(url, { waitUntil: "load", timeout: WAIT_MS });
  await clientReady(page);
  return { page, seen };
}

async function reload(page) {
  await page.reload({ waitUntil: "load", timeout: WAIT_MS });
  await clientReady(page);
}

/** Waits until the page saw at least `n` acks; says what it has on timeout. */
async function waitForAcks(page, n) {
  try {
    await page.waitForFunction((n) => window.acks.length >= n, n, { timeout: WAIT_MS, polling: 50 });
  } catch (error) {
    const state = await page
      .evaluate(() => ({ acks: window.acks.length, state: window.tw?.state, errors: window.errors.slice(-5) }))
      .catch((e) => String(e));
    throw new Error(`waiting for ${n} acks: ${JSON.stringify(state)}: ${error.message}`);
  }
}

/** Polls `/control/received?tag=` until it holds at least `n` frames. */
async function waitForReceived(tag, n) {
  const deadline = Date.now() + WAIT_MS;
  let frames = [];
  while (Date.now() < deadline) {
    ({ frames } = await wsControl("received", { tag }));
    if (frames.length >= n) return frames;
    await sleep(50);
  }
  assert.fail(`the server received ${frames.length} frames of tag ${tag}, not ${n}: ${JSON.stringify(frames)}`);
}

const range = (prefix, first, n) => Array.from({ length: n }, (_, index) => `${prefix}${first + index}`);

/** Client errors other than failed connection attempts (expected while the server is down or refusing). */
const unexpectedErrors = (page) =>
  page.evaluate(() => window.errors.filter(({ kind }) => kind !== "socket" && kind !== "socket_refused"));

before(async () => {
  pageServer = await spawnServer({ www: PAGES_DIR });
  wsPort = await freePort();
  await startWsServer();
  browser = await launchBrowser();
}, { timeout: 60_000 });

after(async () => {
  try {
    await closeBrowser(browser);
  } finally {
    await Promise.all([...servers].map((server) => server.stop()));
  }
}, { timeout: 30_000 });

test("messages sent while the server is down survive a reload and arrive exactly once, in order", { timeout: TEST_MS }, async () => {
  const tag = "reload";
  const key = `outbox-reload-${RUN}`;
  await killWsServer();
  const context = await browser.newContext();
  try {
    const { page, seen } = await open(context, pageUrl(tag, key));

    const receipts = await page.evaluate(() => window.sendMany("r-", 30));
    assert.deepEqual(receipts.map((r) => r.status), Array(30).fill("queued"), JSON.stringify(receipts.slice(0, 3)));
    const firstIds = receipts.map((r) => r.id);
    assert.equal(new Set(firstIds).size, 30, "30 distinct ids");
    const keys = await page.evaluate(() => window.storedKeys());
    assert.equal(keys.length, 30, "one localStorage key per queued message");
    assert.deepEqual(keys, firstIds.map((id) => `tabwire:${key}:ob:${id}`).sort(), "keyed by message id");

    await reload(page);
    const restored = await page.evaluate(() => window.restored);
    assert.deepEqual(restored.map((entry) => entry.data), range("r-", 0, 30), "restored in order");
    assert.deepEqual(restored.map((entry) => entry.id), firstIds, "with the ids send() returned");
    assert.ok(restored.every((entry) => entry.stored && !entry.inFlight), JSON.stringify(restored[0]));
    assert.deepEqual(await page.evaluate(() => window.warnings), [], "no warnings on restore");

    const more = await page.evaluate(() => window.sendMany("r-", 10, 30));
    assert.deepEqual(more.map((r) => r.status), Array(10).fill("queued"));
    assert.equal((await page.evaluate(() => window.outboxList())).length, 40);
    assert.equal((await page.evaluate(() => window.storedKeys())).length, 40);

    await startWsServer();
    await waitForAcks(page, 40);
    const acked = await page.evaluate(() => window.acks);
    assert.deepEqual(acked, [...firstIds, ...more.map((r) => r.id)], "one ack per message, in order");

    const { frames } = await wsControl("received", { tag });
    assert.deepEqual(frames, range("r-", 0, 40), "the server handled each message once, in order");
    assert.deepEqual(await page.evaluate(() => window.storedKeys()), [], "nothing left in localStorage");
    assert.equal(await page.evaluate(() => window.tw.outbox().length), 0, "the outbox is empty");
    const stats = await wsControl("stats", { tag });
    console.log(`reload: server stats ${JSON.stringify(stats)}`);
    assert.equal(stats.framesReceived, 40);
    assert.deepEqual(await unexpectedErrors(page), []);
    assert.deepEqual(seen.pageErrors, [], "no page errors");
  } finally {
    await context.close().catch(() => {});
  }
});

test("a reload while acks are withheld resends, and the server deduplicates", { timeout: TEST_MS }, async () => {
  const tag = "dedupe";
  const key = `outbox-dedupe-${RUN}`;
  if (!wsServer) await startWsServer();
  await wsControl("reset", { tag });
  await wsControl("acks", { tag, enabled: false });
  const context = await browser.newContext();
  try {
    const { page, seen } = await open(context, pageUrl(tag, key));
    await page.waitForFunction(() => window.tw.state === "open", null, { timeout: WAIT_MS, polling: 20 });

    const receipts = await page.evaluate(() => window.sendMany("d-", 20));
    assert.deepEqual(receipts.map((r) => r.status), Array(20).fill("sent"), JSON.stringify(receipts.slice(0, 3)));
    const ids = receipts.map((r) => r.id);
    const frames = await waitForReceived(tag, 20);
    assert.deepEqual(frames, range("d-", 0, 20));
    // Handled and echoed, but never acked: all still stored and in flight.
    await page.waitForFunction(() => window.messages.length >= 20, null, { timeout: WAIT_MS, polling: 20 });
    assert.equal(await page.evaluate(() => window.acks.length), 0, "no acks while withheld");
    assert.equal((await page.evaluate(() => window.storedKeys())).length, 20, "20 keys before the reload");
    const waiting = await page.evaluate(() => window.outboxList());
    assert.ok(waiting.length === 20 && waiting.every((entry) => entry.inFlight), JSON.stringify(waiting[0]));

    // Acks withheld so far are never sent later: the old page gets none.
    await wsControl("acks", { tag, enabled: true });
    await reload(page);
    const restored = await page.evaluate(() => window.restored);
    assert.deepEqual(restored.map((entry) => entry.id), ids, "restored with the same ids, in order");

    await waitForAcks(page, 20);
    assert.deepEqual(await page.evaluate(() => window.acks), ids, "each acked once, in order");
    const after = await wsControl("received", { tag });
    assert.deepEqual(after.frames, range("d-", 0, 20), "still each handled once, in order");
    const stats = await wsControl("stats", { tag });
    console.log(`dedupe: server stats ${JSON.stringify(stats)}`);
    assert.equal(stats.duplicates, 20, "the 20 resent messages were recognised as duplicates");
    assert.equal(stats.framesReceived, 20);
    assert.deepEqual(await page.evaluate(() => window.storedKeys()), [], "nothing left in localStorage");
    assert.deepEqual(await unexpectedErrors(page), []);
    assert.deepEqual(seen.pageErrors, [], "no page errors");
  } finally {
    await wsControl("acks", { tag, enabled: true }).catch(() => {});
    await context.close().catch(() => {});
  }
});

test("a renderer crash loses nothing", { timeout: TEST_MS }, async () => {
  const tag = "crash";
  const key = `outbox-crash-${RUN}`;
  if (!wsServer) await startWsServer();
  await wsControl("reset", { tag });
  await wsControl("refuse", { ms: 60_000 });
  const context = await browser.newContext();
  try {
    const url = pageUrl(tag, key);
    const first = await open(context, url);
    const receipts = await first.page.evaluate(() => window.sendMany("c-", 10));
    assert.deepEqual(receipts.map((r) => r.status), Array(10).fill("queued"));
    assert.equal((await first.page.evaluate(() => window.storedKeys())).length, 10);

    const cdp = await context.newCDPSession(first.page);
    // The command never answers (its renderer is gone): wait for the crash event instead.
    cdp.send("Page.crash").catch(() => {});
    await withTimeout(
      (async () => {
        while (!first.seen.crashed) await sleep(20);
      })(),
      WAIT_MS,
      "the page to crash",
    );

    const second = await open(context, url);
    const restored = await second.page.evaluate(() => window.restored);
    assert.deepEqual(restored.map((entry) => entry.data), range("c-", 0, 10), "restored after the crash");
    await wsControl("refuse", { ms: 0 });
    await waitForAcks(second.page, 10);
    assert.deepEqual(await second.page.evaluate(() => window.acks), receipts.map((r) => r.id));
    const { frames } = await wsControl("received", { tag });
    assert.deepEqual(frames, range("c-", 0, 10), "each handled once, in order");
    assert.deepEqual(await second.page.evaluate(() => window.storedKeys()), [], "nothing left in localStorage");
    const stats = await wsControl("stats", { tag });
    console.log(`crash: server stats ${JSON.stringify(stats)}`);
    assert.deepEqual(await unexpectedErrors(second.page), []);
    assert.deepEqual(second.seen.pageErrors, [], "no page errors");
  } finally {
    await wsControl("refuse", { ms: 0 }).catch(() => {});
    await context.close().catch(() => {});
  }
});
