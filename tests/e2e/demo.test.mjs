// End-to-end tests of the demo console (www/) against the reference server
// started with --demo --test-control, in headless Chromium. Run from the
// repository root after building (cargo build -p tabwire-server; bash
// scripts/build.sh):
//
//   node --test tests/e2e/demo.test.mjs
//
// The first four tests share one page and run in order: live data in every
// panel, then the drills (go offline and back, kill, stall). The last two
// open tabs in contexts of their own: three sharing one connection, and a
// tab joining later. Screenshots (connected, reconnecting, offline, a
// follower of three tabs) go to test-results/demo-*.png.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { closeBrowser, control, launchBrowser, resultsPath, sleep, startServer } from "./helpers.mjs";

/** Upper bound of any single wait in a page. */
const WAIT_MS = 15_000;
const TEST_MS = 60_000;
const VIEWPORT = { width: 1440, height: 900 };
const FUNDS = 5;

let server;
let browser;
let page;
const pageErrors = [];

/** Opens the console with `?tag=` in `context`; page errors are collected. */
async function openConsole(context, tag) {
  const tab = await context.newPage();
  tab.on("pageerror", (error) => pageErrors.push(error.message));
  await tab.goto(`${server.origin}/?tag=${tag}`, { waitUntil: "load", timeout: WAIT_MS });
  return tab;
}

/** Waits until `check` (run in the page with `arg`) is truthy; the failure names `what` and the page's state. */
async function until(tab, what, check, arg, timeoutMs = WAIT_MS) {
  try {
    await tab.waitForFunction(check, arg, { timeout: timeoutMs, polling: 50 });
  } catch (error) {
    const state = await tab.locator("#state").textContent({ timeout: 1000 }).catch(() => "<unreadable>");
    throw new Error(`waiting for ${what} (state ${state}, page errors ${JSON.stringify(pageErrors)}): ${error.message}`);
  }
}

const text = (tab, selector) => tab.locator(selector).first().textContent({ timeout: WAIT_MS });

function untilText(tab, selector, expected, timeoutMs = WAIT_MS) {
  return until(tab, `${selector} to read ${JSON.stringify(expected)}`,
    ([selector, expected]) => document.querySelector(selector)?.textContent === expected, [selector, expected], timeoutMs);
}

/** Starts recording every text #state shows, from now on. */
function recordStates(tab) {
  return tab.evaluate(() => {
    const state = document.getElementById("state");
    window.seenStates = [state.textContent];
    window.stateObserver?.disconnect();
    window.stateObserver = new MutationObserver(() => window.seenStates.push(state.textContent));
    window.stateObserver.observe(state, { childList: true, characterData: true, subtree: true });
  });
}

const seenStates = (tab) => tab.evaluate(() => window.seenStates);

/** The NAV text of every fund card, by fund. */
const navValues = (tab) =>
  tab.locator(".nav-card").evaluateAll((cards) =>
    Object.fromEntries(cards.map((card) => [card.dataset.fund, card.querySelector(".nav-value").textContent])));

/** The id of a pending request every tab shows; one arrives every 10 s. */
async function requestInEveryTab(tabs) {
  const pending = (tab) =>
    tab.locator("#approvals tr.approval:not([data-status])").evaluateAll((rows) => rows.map((row) => row.dataset.id));
  const deadline = Date.now() + 12_000;
  let lists = [];
  while (Date.now() < deadline) {
    lists = await Promise.all(tabs.map(pending));
    const common = lists[0].find((id) => lists.every((ids) => ids.includes(id)));
    if (common) return common;
    await sleep(100);
  }
  assert.fail(`no pending request shown in every tab: ${JSON.stringify(lists)}`);
}

const screenshot = (tab, name) => tab.screenshot({ path: resultsPath(name), timeout: WAIT_MS });

before(async () => {
  server = await startServer({ args: ["--demo"], exitAfterSecs: 240 });
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: VIEWPORT });
  page = await openConsole(context, "console");
}, { timeout: 60_000 });

after(async () => {
  try {
    await closeBrowser(browser);
  } finally {
    await server?.stop();
  }
}, { timeout: 20_000 });

test("every panel shows live data", { timeout: TEST_MS }, async () => {
  await untilText(page, "#state", "open");
  assert.equal(await page.locator("#status-pill").getAttribute("data-state"), "open");
  assert.equal(await text(page, "#role"), "leader", "one tab leads its own connection");
  await untilText(page, "#transport", "WebSocket");
  await untilText(page, "#tabs", "1 tab · 1 connection");
  await untilText(page, "#server-connections", "1");

  // Every fund has a NAV and a chart filled from the history, and NAVs move.
  await until(page, "a NAV on every card", (funds) =>
    [...document.querySelectorAll(".nav-card .nav-value")].filter((value) => /^\d+\.\d{4}$/.test(value.textContent)).length === funds,
  FUNDS);
  const first = await navValues(page);
  assert.equal(Object.keys(first).length, FUNDS, JSON.stringify(first));
  await until(page, "a NAV to change", (first) =>
    [...document.querySelectorAll(".nav-card")].some((card) => card.querySelector(".nav-value").textContent !== first[card.dataset.fund]),
  first);
  await until(page, "a chart with several points",
    () => (document.querySelector(".spark-line")?.getAttribute("points") ?? "").trim().split(/\s+/).length >= 3);
  assert.match(await text(page, ".nav-change"), /^[+−]?\d+\.\d{4} \([+−]?\d+\.\d{2}%\)$/);

  // The first request is in the channel's history.
  await until(page, "an approval request", () => document.querySelector("#approvals tr.approval[data-id^='APR-']"));
  assert.match(await text(page, "#approvals tr.approval .req-amount"), /^[$€£][\d,]+$/);
  assert.match(await text(page, "#approvals-count"), /^[1-9]\d* pending$/);

  // Alerts: one every 7 s, a toast for each new one and a line in the history.
  await until(page, "a risk alert toast", () => document.querySelector("#toasts .toast[data-level]"));
  const level = await page.locator("#toasts .toast").first().getAttribute("data-level");
  assert.ok(["warning", "critical"].includes(level), level);
  assert.ok(await page.locator("#alert-history .alert").count() >= 1, "the alert is in the history");

  // The toast slides in: shoot it in place.
  await page.locator("#toasts .toast").first().evaluate((toast) => Promise.all(toast.getAnimations().map((animation) => animation.finished)));
  await screenshot(page, "demo-connected.png");
  assert.equal(await page.locator("#banner").isVisible(), false, "no error banner");
  assert.deepEqual(pageErrors, []);
});

test("offline, a decision waits in the outbox and is acknowledged back online", { timeout: TEST_MS }, async () => {
  await untilText(page, "#state", "open");
  await recordStates(page);
  await page.locator("#go-offline").click();
  await until(page, "the connection to be lost", () => ["reconnecting", "offline", "connecting"].includes(document.getElementById("state").textContent));
  assert.equal(await page.locator("#go-offline").getAttribute("aria-pressed"), "true");
  assert.match(await text(page, "#go-offline strong"), /^Go online$/);

  const row = page.locator("#approvals tr.approval:not([data-status])").first();
  const id = await row.getAttribute("data-id");
  await row.getByRole("button", { name: `Approve ${id}` }).click();
  const decided = page.locator(`#approvals tr.approval[data-id="${id}"]`);
  await untilText(page, `#approvals tr[data-id="${id}"] .status`, "Approved · queued");
  await untilText(page, "#queued", "1");
  assert.equal(await decided.locator(".status").getAttribute("data-status"), "queued");
  assert.equal(await decided.locator(".decide").isVisible(), false, "no second decision");

  // Best effort: a visible countdown for the screenshot (the backoff is jittered).
  await page.waitForFunction(() => /^[1-9]\d*\.\d s$/.test(document.getElementById("retry-in").textContent), null,
    { timeout: 5000, polling: 20 }).catch(() => {});
  await screenshot(page, "demo-reconnecting.png");

  // The browser loses the network too: the client stops retrying.
  await page.context().setOffline(true);
  await untilText(page, "#state", "offline");
  assert.equal(await page.locator("#state-box").getAttribute("data-state"), "offline");
  await screenshot(page, "demo-offline.png");
  await page.context().setOffline(false);
  await until(page, "retries again", () => document.getElementById("state").textContent !== "offline");

  const states = await seenStates(page);
  assert.ok(states.includes("reconnecting"), `went through reconnecting: ${JSON.stringify(states)}`);
  assert.equal(await text(page, "#queued"), "1", "still queued while the server refuses");

  await page.locator("#go-offline").click();
  await untilText(page, "#state", "open");
  await untilText(page, `#approvals tr[data-id="${id}"] .status`, "Approved · acknowledged");
  await untilText(page, "#queued", "0");
  // The decision comes back through the channel and takes the request off the queue.
  await decided.waitFor({ state: "detached", timeout: WAIT_MS });
  assert.match(await text(page, "#approvals-summary"), /^1 approved · 0 rejected$/);
  assert.equal(await text(page, "#go-offline strong"), "Go offline");
  assert.deepEqual(pageErrors, []);
});

test("killed connections: reconnecting, then open again", { timeout: TEST_MS }, async () => {
  await untilText(page, "#state", "open");
  const reconnects = Number(await text(page, "#reconnects"));
  await recordStates(page);
  await page.locator("#kill").click();
  await until(page, "a reconnect", (before) => Number(document.getElementById("reconnects").textContent) > before, reconnects);
  await untilText(page, "#state", "open");
  const states = await seenStates(page);
  assert.ok(states.includes("reconnecting"), `went through reconnecting: ${JSON.stringify(states)}`);
  assert.ok(await page.locator("#log li", { hasText: /closed 1006, dropped, will reconnect/ }).count() >= 1, "the log tells the drop");
  await untilText(page, "#server-connections", "1");
  assert.deepEqual(pageErrors, []);
});

test("a stalled server: the heartbeat notices and the client reconnects", { timeout: TEST_MS }, async () => {
  await untilText(page, "#state", "open");
  await recordStates(page);
  await page.locator("#stall").click();
  // Heartbeat every 3 s, 2 s timeout: noticed within about 5 s.
  await until(page, "a heartbeat timeout",
    () => [...document.querySelectorAll("#log li")].some((item) => item.textContent.includes("heartbeat_timeout")), null, 8000);
  assert.match(await text(page, "#banner-message"), /heartbeat_timeout/);
  await untilText(page, "#state", "open");
  const states = await seenStates(page);
  assert.ok(states.includes("reconnecting"), `went through reconnecting: ${JSON.stringify(states)}`);
  assert.equal(await page.locator("#banner").isVisible(), false, "the banner goes once the connection is back");
  // The stalled connection is resumed and closes: one is left. The drills
  // before this one also ended young connections without a close: the
  // third makes the client try HTTP, where a probe WebSocket must hold
  // 10 s before the connection moves back to it (two meanwhile).
  await untilText(page, "#server-connections", "1", 30_000);
  await untilText(page, "#transport", "WebSocket", 30_000);
  assert.deepEqual(pageErrors, []);
});

test("three tabs share one connection: a leader, two followers", { timeout: TEST_MS }, async () => {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    const tabs = [];
    for (let index = 0; index < 3; index += 1) tabs.push(await openConsole(context, "tabs"));
    for (const tab of tabs) {
      await untilText(tab, "#state", "open");
      await untilText(tab, "#tabs", "3 tabs · 1 connection");
      await untilText(tab, "#sharing", "3 tabs · 1 connection");
    }
    const roles = await Promise.all(tabs.map((tab) => text(tab, "#role")));
    assert.deepEqual([...roles].sort(), ["follower", "follower", "leader"], JSON.stringify(roles));
    const { connections } = await control(server.origin, "stats", { tag: "tabs" });
    assert.equal(connections, 1, "the server sees one connection for the three tabs");
    for (const tab of tabs) {
      await untilText(tab, "#server-connections", "1");
      // Every tab gets the live NAVs through the leader.
      await until(tab, "a NAV", () => /^\d+\.\d{4}$/.test(document.querySelector(".nav-value").textContent));
    }
    await screenshot(tabs[roles.indexOf("follower")], "demo-three-tabs-follower.png");

    // A follower decides: its publication goes through the leader's
    // connection, and the decision takes the request off every tab's queue.
    const follower = tabs[roles.indexOf("follower")];
    const others = tabs.filter((tab) => tab !== follower);
    const id = await requestInEveryTab(tabs);
    await follower.getByRole("button", { name: `Reject ${id}` }).click();
    await untilText(follower, `tr[data-id="${id}"] .status`, "Rejected · acknowledged");
    const name = await text(follower, "#tab-name");
    await untilText(others[0], `tr[data-id="${id}"] .status`, `Rejected by ${name}`);
    for (const tab of tabs) await tab.locator(`tr[data-id="${id}"]`).waitFor({ state: "detached", timeout: WAIT_MS });
  } finally {
    await context.close();
  }
  assert.deepEqual(pageErrors, []);
});

test("a tab that joins later rebuilds the queue from the history", { timeout: TEST_MS }, async () => {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    const leader = await openConsole(context, "history");
    await untilText(leader, "#state", "open");
    await until(leader, "an approval request", () => document.querySelector("#approvals tr.approval"));
    const requests = (tab) => tab.locator("#approvals tr.approval").evaluateAll((rows) => rows.map((row) => row.dataset.id));
    const follower = await openConsole(context, "history");
    await untilText(follower, "#role", "follower");
    // The history comes at once; live requests every 10 s would not fill it in time.
    await until(follower, "the leader's requests", (ids) => ids.every((id) => document.querySelector(`#approvals tr[data-id="${id}"]`)),
      await requests(leader), 5000);
  } finally {
    await context.close();
  }
});
