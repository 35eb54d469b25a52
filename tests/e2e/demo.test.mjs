// End-to-end smoke test of the demo dashboard (www/) against the reference
// server, in headless Chromium. Run from the repository root:
//
//   cargo build -p tabwire-server
//   wasm-pack build --release --target web --mode no-install
//   node --test tests/e2e/
//
// The tests share one page and run in order: connect, echo, reconnect after a
// drop, queue while the server refuses connections.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { closeBrowser, control, launchBrowser, resultsPath, sleep, startServer } from "./helpers.mjs";

const TAG = "e2e";
/** Upper bound of any single wait in the page. */
const WAIT_MS = 15_000;
/** Upper bound of a whole test. */
const TEST_MS = 45_000;

let server;
let browser;
let context;
let page;
const pageErrors = [];
const consoleErrors = [];

/** Every console error and page error, for assertion messages. */
function problems() {
  return JSON.stringify({ pageErrors, consoleErrors }, null, 2);
}

/** Text of a dashboard element. */
function text(id) {
  return page.locator(`#${id}`).textContent({ timeout: WAIT_MS });
}

/** The page's error banner text, or null while it is hidden. */
function bannerText() {
  return page.evaluate(() => {
    const banner = document.getElementById("banner");
    return banner && !banner.hidden ? banner.innerText : null;
  });
}

/** Waits until `#id`'s text is exactly `expected`; gives up early if the error banner shows. */
async function waitForText(id, expected, what = `#${id} to be ${JSON.stringify(expected)}`) {
  try {
    await page.waitForFunction(
      ([id, expected]) =>
        document.getElementById(id)?.textContent === expected || !document.getElementById("banner")?.hidden,
      [id, expected],
      { timeout: WAIT_MS, polling: 50 },
    );
  } catch (error) {
    const actual = await page.locator(`#${id}`).textContent({ timeout: 1000 }).catch(() => "<unreadable>");
    throw new Error(`waiting for ${what}, it is ${JSON.stringify(actual)}: ${error.message}\n${problems()}`);
  }
  const banner = await bannerText();
  if (banner !== null) assert.fail(`the page shows an error banner while waiting for ${what}: ${banner}`);
}

/** Waits for a log entry with this direction and exactly this text. */
async function waitForLogEntry(direction, body) {
  const entry = page
    .locator(`#log li[data-direction="${direction}"]`)
    .filter({ has: page.locator(".text", { hasText: new RegExp(`^${escapeRegExp(body)}$`) }) });
  await entry.first().waitFor({ state: "attached", timeout: WAIT_MS });
  return entry;
}

function escapeRegExp(value) {
  return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Polls `/control/received` until it lists `frame`. */
async function waitForReceived(frame) {
  const deadline = Date.now() + WAIT_MS;
  let frames = [];
  while (Date.now() < deadline) {
    ({ frames } = await control(server.origin, "received", { tag: TAG }));
    if (frames.includes(frame)) return frames;
    await sleep(100);
  }
  assert.fail(`the server never received ${JSON.stringify(frame)}; it has ${JSON.stringify(frames)}`);
}

/** Starts recording every text #state shows, from now on. */
async function recordStates() {
  await page.evaluate(() => {
    const state = document.getElementById("state");
    window.__seenStates = [state.textContent];
    window.__stateObserver?.disconnect();
    window.__stateObserver = new MutationObserver(() => window.__seenStates.push(state.textContent));
    window.__stateObserver.observe(state, { childList: true, characterData: true, subtree: true });
  });
}

function seenStates() {
  return page.evaluate(() => window.__seenStates);
}

/** Makes the server refuse new connections for `ms` and drops the page's connection. */
async function breakConnection(ms) {
  await control(server.origin, "refuse", { ms });
  const { dropped } = await control(server.origin, "drop", { tag: TAG });
  assert.equal(dropped, 1, "the page has exactly one connection to drop");
  await page.waitForFunction(() => document.getElementById("state")?.textContent !== "open", null, {
    timeout: WAIT_MS,
    polling: 20,
  });
}

before(async () => {
  server = await startServer({ exitAfterSecs: 120 });
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(WAIT_MS);
  page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  await page.goto(`${server.origin}/?tag=${TAG}`, { waitUntil: "load", timeout: WAIT_MS });
}, { timeout: 60_000 });

after(async () => {
  try {
    await closeBrowser(browser);
  } finally {
    if (server) await server.stop();
  }
}, { timeout: 20_000 });

test("the page connects", { timeout: TEST_MS }, async () => {
  await waitForText("state", "open");
  assert.equal(await text("badge-text"), "open");
  assert.match(await page.locator("header").textContent(), /tabwire/);
  assert.equal(await page.locator("#banner").isVisible(), false, "no error banner");
  assert.equal(await page.evaluate(() => window.tabwire?.state), "open", "window.tabwire is the client");
  assert.equal(await text("reconnects"), "0");
  // The log says so too.
  await waitForLogEntry("event", "open");
  const { connections } = await control(server.origin, "stats", { tag: TAG });
  assert.equal(connections, 1);
  await page.screenshot({ path: resultsPath("demo-open.png"), fullPage: true, timeout: WAIT_MS });
  assert.deepEqual(pageErrors, [], "no page errors");
  assert.deepEqual(consoleErrors, [], "no console errors");
});

test("sending echoes", { timeout: TEST_MS }, async () => {
  const message = "hello dashboard";
  const before = Number(await text("messages-out"));
  await page.locator("#message-input").fill(message);
  await page.locator("#send").click();
  await waitForText("send-result", "sent");
  assert.equal(await page.locator("#message-input").inputValue(), "", "the input is cleared");
  await waitForLogEntry("out", message);
  await waitForLogEntry("in", message);
  // Newest first: the echo is above the line that sent it.
  const directions = await page.locator("#log li").evaluateAll((items) =>
    items.map((item) => `${item.dataset.direction}:${item.querySelector(".text")?.textContent}`));
  assert.ok(
    directions.indexOf(`in:${message}`) < directions.indexOf(`out:${message}`),
    `newest first: ${JSON.stringify(directions.slice(0, 5))}`,
  );
  await waitForText("messages-out", String(before + 1));
  await waitForReceived(message);
  assert.deepEqual(pageErrors, [], "no page errors");
});

test("a server drop is followed by a reconnection", { timeout: TEST_MS }, async () => {
  await waitForText("state", "open");
  await recordStates();
  // Refusing for a while keeps the page reconnecting long enough to see it.
  await breakConnection(1500);
  // Best effort: catch a retry with a visible countdown for the screenshot.
  // The backoff is jittered, so settle for any non-open moment if none comes.
  await page
    .waitForFunction(() => {
      const state = document.getElementById("state")?.textContent;
      const retry = /^(\d+\.\d) s$/.exec(document.getElementById("retry-in")?.textContent ?? "");
      return state === "reconnecting" && retry && Number(retry[1]) >= 0.3;
    }, null, { timeout: 4000, polling: 20 })
    .catch(() => {});
  if ((await text("state")) !== "open") {
    await page.screenshot({ path: resultsPath("demo-reconnecting.png"), fullPage: true, timeout: WAIT_MS });
  }
  await waitForText("state", "open", "#state to return to open");
  const states = await seenStates();
  assert.ok(states.some((state) => state !== "open"), `went through a non-open state: ${JSON.stringify(states)}`);
  assert.equal(states.at(-1), "open");
  await page.waitForFunction(() => Number(document.getElementById("reconnects")?.textContent) >= 1, null, {
    timeout: WAIT_MS,
  });
  assert.ok(Number(await text("reconnects")) >= 1);
  await waitForLogEntry("event", "close 1006 (dropped, will reconnect)");
  assert.ok(
    (await page.locator('#log li[data-direction="event"]', { hasText: /reconnecting: retry \d+/ }).count()) >= 1,
    "the log shows the scheduled retries",
  );
  const { connections } = await control(server.origin, "stats", { tag: TAG });
  assert.equal(connections, 1, "exactly one connection after reconnecting");
  assert.deepEqual(pageErrors, [], "no page errors");
});

test("messages sent while the server refuses are queued and delivered after", { timeout: TEST_MS }, async () => {
  const message = "while down";
  await waitForText("state", "open");
  await breakConnection(1500);
  await page.locator("#message-input").fill(message);
  await page.locator("#message-input").press("Enter");
  await waitForText("send-result", "queued");
  await waitForLogEntry("out", message);
  const queuedWhileDown = Number(await text("queued"));
  assert.ok(queuedWhileDown >= 1, `#queued shows the waiting message (${queuedWhileDown})`);
  const received = await control(server.origin, "received", { tag: TAG });
  assert.ok(!received.frames.includes(message), "not delivered while down");

  await waitForText("state", "open", "#state to return to open");
  await waitForLogEntry("in", message);
  await waitForReceived(message);
  await waitForText("queued", "0");
  assert.deepEqual(pageErrors, [], "no page errors");
});
