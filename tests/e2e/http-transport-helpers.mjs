// Shared by http-transport.test.mjs and http-transport-2.test.mjs: the page
// server, Chromium, the reference servers and proxies of a test file (all
// stopped in `after`), and a client in a page that records what it hears.

import assert from "node:assert/strict";
import path from "node:path";

import { closeBrowser, control, launchBrowser, ROOT, sleep, startServer, withTimeout } from "./helpers.mjs";
import { startProxy } from "./proxy.mjs";

export const PAGES_DIR = path.join(ROOT, "tests", "e2e", "pages");
/** Upper bound of an ordinary wait (a noisy 2-core machine). */
export const WAIT_MS = 15_000;
/** Every server exits by itself after this, whatever happens to the run. */
const EXIT_AFTER_SECS = 240;
/** Distinguishes the namespaces, tags and channels of this run from any other. */
export const RUN = `${Date.now().toString(36)}-${process.pid}`;
/** Fast, predictable retries. */
export const RECONNECT = { minDelayMs: 100, maxDelayMs: 500, jitter: "none" };

/** What a test file started: stopped by `stopAll`, whatever happened. */
const cleanups = [];
export const state = { pageServer: undefined, browser: undefined };

export async function startAll() {
  state.pageServer = await spawnServer({ www: PAGES_DIR, testControl: false });
  state.browser = await launchBrowser();
}

export async function stopAll() {
  await closeBrowser(state.browser);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
}

/** A reference server (test control on) that lets in the page server's pages, stopped in `stopAll`. */
export async function spawnServer(options = {}) {
  const allowOrigins = state.pageServer ? [state.pageServer.origin] : [];
  const server = await startServer({ exitAfterSecs: EXIT_AFTER_SECS, timeoutMs: WAIT_MS, allowOrigins, ...options });
  cleanups.push(() => server.stop("SIGKILL"));
  return server;
}

/** A proxy in front of `server`, closed in `stopAll`. */
export async function spawnProxy(server, settings = {}) {
  const proxy = await startProxy({ target: server.origin, ...settings });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** Runs `body(context)` in a new browser context (its own localStorage), closed after. */
export async function inContext(body) {
  const context = await state.browser.newContext();
  try {
    return await body(context);
  } finally {
    await withTimeout(context.close(), 10_000, "a context to close").catch(() => {});
  }
}

/** Polls `check` (async) until it returns a truthy value; fails with `what` and the last value. */
export async function until(what, check, timeoutMs = WAIT_MS, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(everyMs);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/**
 * Opens a page of the page server (another origin than the proxies and
 * servers it talks to) with a client made of `options`; `channels` are
 * subscribed at once. Every event is recorded in `window.log`; `window.tw`
 * is the client. The page's network requests (fetches of the HTTP
 * transport, WebSockets) are counted by `net` as Chromium sees them.
 */
export async function openClient(context, options, { channels = [] } = {}) {
  const page = await context.newPage();
  const net = watchNetwork(page);
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(new URL("/away.html", state.pageServer.origin).toString(), { timeout: WAIT_MS });
  const client = { page, net, pageErrors };
  await createClient(client, options, channels);
  return client;
}

/** Reloads the page of `client` and makes its client again (as the application would on load). */
export async function reloadClient(client, options, { channels = [] } = {}) {
  await client.page.reload({ timeout: WAIT_MS });
  await createClient(client, options, channels);
}

async function createClient(client, options, channels) {
  const error = await withTimeout(
    client.page.evaluate(setUpInPage, { options, channels }),
    WAIT_MS,
    "the client to start",
  );
  assert.equal(error, null, "the page created its client");
}

/** Runs in the page: makes the client and records its events. */
async function setUpInPage({ options, channels }) {
  const { default: init, TabWire } = await import("/pkg/tabwire.js");
  await init();
  const now = () => Date.now();
  const log = {
    created: now(),
    opens: [],
    closes: [],
    states: [],
    messages: [],
    acks: [],
    errors: [],
    gaps: [],
    channel: [],
    subscribed: [],
    roles: [],
  };
  window.log = log;
  let tw;
  try {
    tw = new TabWire(options);
  } catch (error) {
    return String(error?.message ?? error);
  }
  window.tw = tw;
  tw.on("open", ({ transport, protocol, attempt }) => log.opens.push({ transport, protocol, attempt, at: now() }));
  tw.on("close", ({ code, reason, wasClean, willReconnect }) =>
    log.closes.push({ code, reason, wasClean, willReconnect, at: now() }));
  tw.on("state", ({ state }) => log.states.push(state));
  tw.on("message", ({ data }) => log.messages.push(typeof data === "string" ? data : `<binary ${data.byteLength}>`));
  tw.on("ack", ({ id }) => log.acks.push(id));
  tw.on("error", ({ kind, message }) => log.errors.push({ kind, message }));
  tw.on("gap", (gap) => log.gaps.push({ ...gap }));
  tw.on("subscribed", ({ channel, offset }) => log.subscribed.push({ channel, offset, at: now() }));
  tw.on("role", ({ role }) => log.roles.push(role));
  for (const channel of channels) {
    tw.subscribe(channel, ({ data, offset, epoch }) => log.channel.push({ channel, data, offset, epoch }));
  }
  /** Sends `${prefix}${i}` every `everyMs` until `stopSending()`, which returns what was sent. */
  window.startSending = (prefix, everyMs) => {
    const sent = [];
    let index = 0;
    const timer = setInterval(() => {
      const text = `${prefix}${index++}`;
      const receipt = tw.send(text);
      sent.push({ text, status: receipt.status, id: receipt.id });
    }, everyMs);
    window.stopSending = () => {
      clearInterval(timer);
      return sent;
    };
  };
  window.sendMany = (prefix, n) => Array.from({ length: n }, (_, i) => tw.send(`${prefix}${i}`));
  window.storedTransports = () => {
    const found = {};
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (key?.endsWith(":transport")) found[key] = localStorage.getItem(key);
    }
    return found;
  };
  return null;
}

/** Counts the page's fetches and WebSockets (by the tabwire kind of their URL) as Chromium sees them. */
function watchNetwork(page) {
  const net = { websockets: [], requests: [], failed: [] };
  page.on("websocket", (socket) => net.websockets.push({ url: socket.url(), at: Date.now() }));
  page.on("request", (request) => {
    if (request.method() === "POST") net.requests.push({ url: request.url(), at: Date.now() });
  });
  page.on("requestfailed", (request) => {
    if (request.method() === "POST") net.failed.push({ url: request.url(), at: Date.now() });
  });
  return net;
}

export const logOf = (client) => client.page.evaluate(() => window.log);
export const statsOf = (client) => client.page.evaluate(() => window.tw.stats());
export const transportsOf = (log) => log.opens.map((open) => open.transport);

/** Waits until the client opened `n` times in all, and returns its log. */
export async function opened(client, n = 1, timeoutMs = WAIT_MS) {
  return until(`${n} open events`, async () => {
    const log = await logOf(client);
    return log.opens.length >= n ? log : null;
  }, timeoutMs);
}

/** Waits until the client's channel log holds `n` messages of `channel`. */
export async function channelGot(client, channel, n, timeoutMs = WAIT_MS) {
  return until(`${n} messages on ${channel}`, async () => {
    const log = await logOf(client);
    const got = log.channel.filter((entry) => entry.channel === channel);
    return got.length >= n ? got : null;
  }, timeoutMs);
}

/** Waits until the client had `n` `subscribed` events for `channel`. */
export async function subscribedTimes(client, channel, n, timeoutMs = WAIT_MS) {
  return until(`${n} subscriptions to ${channel}`, async () => {
    const log = await logOf(client);
    return log.subscribed.filter((entry) => entry.channel === channel).length >= n ? log : null;
  }, timeoutMs);
}

/** The frames the server recorded for `tag`, once it holds every text of `texts`. */
export async function receivedAll(server, tag, texts, timeoutMs = WAIT_MS) {
  return until(`the server to receive ${texts.length} messages of ${tag}`, async () => {
    const { frames } = await control(server.origin, "received", { tag });
    return texts.every((text) => frames.includes(text)) ? frames : null;
  }, timeoutMs, 100);
}

/** Publishes `values` to `channel`, one after the other, through the server's control API. */
export async function publish(server, channel, values) {
  for (const value of values) await control(server.origin, "publish", { channel, data: JSON.stringify(value) });
}

/**
 * Publishes `${prefix}${i}` to `channel` every `everyMs` until the returned
 * `stop()`, which resolves to what was published.
 */
export function startPublishing(server, channel, prefix, everyMs) {
  const published = [];
  let running = true;
  const loop = (async () => {
    for (let index = 0; running; index += 1) {
      const value = `${prefix}${index}`;
      await control(server.origin, "publish", { channel, data: JSON.stringify(value) });
      published.push(value);
      await sleep(everyMs);
    }
  })();
  return async () => {
    running = false;
    await loop;
    return published;
  };
}

export const range = (prefix, n, first = 0) => Array.from({ length: n }, (_, i) => `${prefix}${first + i}`);

/** Asserts that `list` holds no value twice. */
export function assertNoRepeat(list, what) {
  assert.equal(new Set(list).size, list.length, `${what}: no duplicate in ${JSON.stringify(list)}`);
}

/** The server's stats for `tag`. */
export const serverStats = (server, tag) => control(server.origin, "stats", tag === undefined ? {} : { tag });

/** Client errors other than failed connection attempts (expected while a proxy refuses). */
export const unexpectedErrors = (log) =>
  log.errors.filter(({ kind }) => !["socket", "socket_refused", "connect_timeout"].includes(kind));
