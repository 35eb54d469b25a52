// Shared helpers of tests/foreign/: the page server and Chromium for a
// test file, pages of tests/foreign/pages/client.html, and waits that end
// on a positive event (a frame at the server, an event in the page).

import assert from "node:assert/strict";

import { closeBrowser, launchBrowser, sleep } from "../e2e/helpers.mjs";
import { startStaticServer } from "./static.mjs";

/** Upper bound of any single wait. With default options a retry waits up to a few seconds. */
export const WAIT_MS = 15_000;
/** Upper bound of a whole test. */
export const TEST_MS = 45_000;
/** Distinguishes the paths (and so the namespaces) of this run from any other. */
export const RUN = `${Date.now().toString(36)}-${process.pid}`;

/**
 * What a test file needs: the page server, Chromium, and the servers it
 * registers with `track` (stopped in `close`). Call `open()` in `before`
 * and `close()` in `after`.
 */
export function environment() {
  const env = {
    pages: undefined,
    browser: undefined,
    servers: [],
    async open() {
      env.pages = await startStaticServer();
      env.browser = await launchBrowser();
    },
    track(server) {
      env.servers.push(server);
      return server;
    },
    async close() {
      await closeBrowser(env.browser);
      await Promise.all(env.servers.map((server) => server.stop()));
      await env.pages?.stop();
    },
    /** Runs `body(context)` in a new browser context (its own storage, locks and channels), closed after. */
    async inContext(body) {
      const context = await env.browser.newContext();
      try {
        return await body(context);
      } finally {
        await context.close().catch(() => {});
      }
    },
    /** The page URL for a client of `wsUrl`, with `extra` options and an optional manual start. */
    pageUrl(wsUrl, { extra, manual = false } = {}) {
      const url = new URL("/client.html", env.pages.origin);
      url.searchParams.set("ws", wsUrl);
      if (extra) url.searchParams.set("extra", JSON.stringify(extra));
      if (manual) url.searchParams.set("start", "manual");
      return url.toString();
    },
    /** Opens a client page in `context` and waits until its module ran. */
    async openClient(context, wsUrl, options) {
      const page = await context.newPage();
      page.on("pageerror", (error) => console.log(`page error: ${error.message}`));
      await page.goto(env.pageUrl(wsUrl, options), { timeout: WAIT_MS });
      await loaded(page);
      return page;
    },
  };
  return env;
}

/** Waits until the page's module ran (after a goto or a reload); fails on an init error. */
export async function loaded(page) {
  await page.waitForFunction(() => window.ready, null, { timeout: WAIT_MS });
  assert.equal(await page.evaluate(() => window.initError ?? null), null, "the page loaded tabwire");
}

/** The ws:// URL of `server` for a test: its own path, and a query the namespace leaves out. */
export const wsUrl = (server, name) => `ws://127.0.0.1:${server.port}/${name}-${RUN}?from=tests-foreign`;
/** The path the server records for that URL. */
export const wsPath = (name) => `/${name}-${RUN}`;

/** Polls `check` (sync or async) until it returns a truthy value; fails with `what` and the last value. */
export async function until(what, check, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await sleep(25);
  }
}

/** Waits until the page fired `count` events `name` whose payload has the fields of `match`; returns them. */
export async function waitEvent(page, name, match = {}, count = 1) {
  try {
    await page.waitForFunction(
      ([name, match, count]) => window.named(name, match).length >= count,
      [name, match, count],
      { timeout: WAIT_MS, polling: 25 },
    );
  } catch (error) {
    const events = await page.evaluate(() => window.events.map(({ name, payload }) => `${name} ${JSON.stringify(payload)}`));
    assert.fail(`no ${count} "${name}" event(s) with ${JSON.stringify(match)}: ${error.message}\nevents:\n${events.join("\n")}`);
  }
  return page.evaluate(([name, match]) => window.named(name, match).map((event) => event.payload), [name, match]);
}

/** The payloads of the page's events `name` (with the fields of `match`). */
export const eventsOf = (page, name, match = {}) =>
  page.evaluate(([name, match]) => window.named(name, match).map((event) => event.payload), [name, match]);

/** Waits until the page's messages include every one of `expected` (in any order); returns them all. */
export function waitMessages(page, expected) {
  return until(`the page to receive ${JSON.stringify(expected)}`, async () => {
    const received = await page.evaluate(() => window.received());
    return expected.every((data) => received.includes(data)) ? received : null;
  });
}

/** Waits until `server` received at least `count` frames on `path`; returns them. */
export function waitFrames(server, path, count) {
  return until(`${count} frame(s) at ${server.kind} on ${path}`, () => {
    const frames = server.framesOf(path);
    return frames.length >= count ? frames : null;
  });
}

/** Waits until the page's outbox is empty, in memory and in localStorage. */
export function waitOutboxEmpty(page) {
  return until("the outbox to empty (memory and localStorage)", () =>
    page.evaluate(() => window.tw.outbox().length === 0 && window.storedKeys().length === 0));
}

/** Sends each item (a string, a JSON value, or `{bytes: [...]}` for binary); returns the receipts. */
export function sendAll(page, items) {
  return page.evaluate((items) => items.map((item) => (item?.bytes ? window.sendBytes(item.bytes) : window.send(item))), items);
}

/** Stops `server` and waits until the page saw its socket close. */
export async function takeDown(server, page) {
  const closes = (await eventsOf(page, "close")).length;
  await server.stop();
  await waitEvent(page, "close", {}, closes + 1);
}
