// End-to-end tests of one connection shared by several tabs: pages of one
// browser context (they share Web Locks, BroadcastChannel and localStorage),
// served from 127.0.0.1, against the reference server. Run from the
// repository root after building (see outbox.test.mjs):
//
//   node --test tests/e2e/share.test.mjs

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";

import { closeBrowser, control, launchBrowser, ROOT, sleep, startServer } from "./helpers.mjs";

const PAGES_DIR = path.join(ROOT, "tests", "e2e", "pages");
/** Upper bound of any single wait. */
const WAIT_MS = 15_000;
const TEST_MS = 60_000;
/** Distinguishes the namespaces of this run from any earlier one. */
const RUN = `${Date.now().toString(36)}-${process.pid}`;

let server;
let browser;

before(async () => {
  server = await startServer({ www: PAGES_DIR, exitAfterSecs: 300, timeoutMs: WAIT_MS });
  browser = await launchBrowser();
}, { timeout: 60_000 });

after(async () => {
  await closeBrowser(browser);
  await server?.stop();
}, { timeout: 30_000 });

const stats = (tag) => control(server.origin, "stats", { tag });
const received = async (tag) => (await control(server.origin, "received", { tag })).frames;

/** Polls `check` (async) until it returns a truthy value; fails with `what` and the last value. */
async function until(what, check, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(50);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** Runs `body` with a new browser context (its pages share locks, channels and storage), closed after. */
async function inContext(body, inBrowser = browser) {
  const context = await inBrowser.newContext();
  try {
    return await body(context);
  } finally {
    await context.close();
  }
}

/** Opens `n` tabs of one namespace in `context`, one after the other. */
async function openTabs(context, n, { tag, key, share = true }) {
  const url = new URL("/share.html", server.origin);
  url.searchParams.set("ws", `${server.origin.replace("http", "ws")}/ws?tag=${tag}`);
  url.searchParams.set("key", key);
  if (!share) url.searchParams.set("share", "false");
  const pages = [];
  for (let index = 0; index < n; index += 1) {
    const page = await context.newPage();
    page.on("pageerror", (error) => console.log(`page error: ${error.message}`));
    await page.goto(url.toString(), { timeout: WAIT_MS });
    await page.waitForFunction(() => window.ready, null, { timeout: WAIT_MS });
    assert.equal(await page.evaluate(() => window.initError ?? null), null);
    pages.push(page);
  }
  return pages;
}

const roleOf = (page) => page.evaluate(() => window.role());
const rolesOf = (pages) => Promise.all(pages.map(roleOf));

/** Waits until exactly one of `pages` leads, the others follow, and all see the connection open. */
async function settled(pages) {
  return until("one leader, the others following, all open", async () => {
    const views = await Promise.all(pages.map((page) => page.evaluate(() => [window.role(), window.tw.state])));
    const leaders = views.filter(([role]) => role === "leader").length;
    const ok = leaders === 1 && views.every(([role, state]) => role !== "solo" && state === "open");
    return ok ? pages[views.findIndex(([role]) => role === "leader")] : null;
  });
}

/** Sends `count` messages named `${prefix}${i}` from each page, `gapMs` apart; returns every text sent. */
async function sendFromEach(pages, prefix, count, gapMs = 0) {
  const sent = [];
  for (let round = 0; round < count; round += 1) {
    for (const [index, page] of pages.entries()) {
      const text = `${prefix}${index}-${round}`;
      const receipt = await page.evaluate((text) => window.send(text), text);
      assert.notEqual(receipt.status, "refused", JSON.stringify(receipt));
      sent.push(text);
    }
    if (gapMs) await sleep(gapMs);
  }
  return sent;
}

/** Waits until the server received every text in `sent`, and checks it received each exactly once. */
async function assertReceivedOnce(tag, sent) {
  const frames = await until(`${sent.length} messages at the server`, async () => {
    const frames = await received(tag);
    return sent.every((text) => frames.includes(text)) ? frames : null;
  });
  const extra = frames.filter((frame) => !sent.includes(frame));
  assert.deepEqual(extra, [], "nothing else arrived");
  assert.equal(frames.length, new Set(frames).size, `no duplicates: ${JSON.stringify(frames)}`);
}

test("five tabs share one connection: one socket, every channel message in every tab, every send once", { timeout: TEST_MS }, async () => {
  const tag = `five-${RUN}`;
  return inContext(async (context) => {
  const pages = await openTabs(context, 5, { tag, key: tag });
  await settled(pages);
  assert.equal((await stats(tag)).connections, 1);
  assert.deepEqual((await rolesOf(pages)).sort(), ["follower", "follower", "follower", "follower", "leader"]);

  for (const page of pages) await page.evaluate(() => window.subscribe("prices"));
  await until("one subscription at the server", async () => (await stats(tag)).subscriptions?.prices === 1);
  const published = await control(server.origin, "publish", { channel: "prices", data: JSON.stringify({ nav: 101.25 }) });
  assert.equal(published.delivered, 1, "one connection subscribed");
  for (const page of pages) {
    await page.waitForFunction(() => window.channelMessages.length >= 1, null, { timeout: WAIT_MS });
  }
  await sleep(200);
  for (const page of pages) {
    assert.deepEqual(await page.evaluate(() => window.channelMessages), [{ channel: "prices", data: { nav: 101.25 } }]);
  }

  const sent = await sendFromEach(pages, "m", 1);
  await assertReceivedOnce(tag, sent);
  for (const page of pages) await acked(page, 1);
  const current = await stats(tag);
  assert.equal(current.connections, 1);
  assert.equal(current.connectionsTotal, 1, "no tab ever opened a socket of its own");
  });
});

/** Waits until `page` saw `n` acks, then checks it saw no more, and nothing is left in its outbox. */
async function acked(page, n) {
  await until(`${n} acks`, () => page.evaluate((n) => window.acks.length >= n, n));
  await sleep(100);
  const { acks, outbox } = await page.evaluate(() => ({ acks: window.acks, outbox: window.tw.outbox().map((entry) => entry.id) }));
  assert.equal(acks.length, new Set(acks).size, `one ack per message: ${JSON.stringify(acks)}`);
  assert.equal(acks.length, n);
  assert.deepEqual(outbox, [], "nothing left undelivered");
}

/** Ends the leader of three tabs with `end`, sends during the hand-over, checks the new leader and delivery. */
async function failover(name, end) {
  const tag = `failover-${name}-${RUN}`;
  return inContext(async (context) => {
  const pages = await openTabs(context, 3, { tag, key: tag });
  const leader = await settled(pages);
  const rest = pages.filter((page) => page !== leader);
  await end(leader, context);
  const sent = await sendFromEach(rest, `${name}-`, 10, 20);
  const survivors = name === "reload" ? pages : rest;
  const next = await settled(survivors);
  await until("one connection at the server", async () => (await stats(tag)).connections === 1);
  await assertReceivedOnce(tag, sent);
  for (const page of rest) await acked(page, 10);
  return { next, leader };
  });
}

test("when the leader tab closes, another leads and nothing sent during the hand-over is lost", { timeout: TEST_MS }, async () => {
  const { next, leader } = await failover("close", (leader) => leader.close());
  assert.notEqual(next, leader);
});

test("when the leader tab reloads, another leads and nothing is lost", { timeout: TEST_MS }, async () => {
  const { next, leader } = await failover("reload", (leader) => leader.reload({ timeout: WAIT_MS }));
  assert.notEqual(next, leader, "the tab in line took the lead while the old one reloaded");
});

test("when the leader's renderer crashes, another leads and nothing is lost", { timeout: TEST_MS }, async () => {
  await failover("crash", async (leader, context) => {
    const cdp = await context.newCDPSession(leader);
    cdp.send("Page.crash").catch(() => {});
    await sleep(100);
  });
});

test("a frozen (hung) leader is replaced by a visible tab, and steps down when it wakes", { timeout: TEST_MS }, async () => {
  const tag = `frozen-${RUN}`;
  return inContext(async (context) => {
  const pages = await openTabs(context, 3, { tag, key: tag });
  const leader = await settled(pages);
  const rest = pages.filter((page) => page !== leader);
  // `Page.setWebLifecycleState` does not freeze a visible page in headless
  // Chromium 156 (its timers and BroadcastChannel go on), so the leader's
  // main thread is stopped in the debugger: nothing of it runs, as in a
  // frozen or hung tab, and it keeps its lock.
  const cdp = await context.newCDPSession(leader);
  await cdp.send("Debugger.enable");
  await cdp.send("Debugger.pause");
  const frozenAt = Date.now();
  const next = await settled(rest);
  console.log(`frozen leader replaced after ${Date.now() - frozenAt} ms`);
  const sentWhileFrozen = await sendFromEach(rest, "frozen-", 3);

  await cdp.send("Debugger.resume");
  await until("the old leader to follow", async () => (await roleOf(leader)) === "follower");
  await until("one connection again", async () => (await stats(tag)).connections === 1);
  assert.equal(await roleOf(next), "leader");
  const sentAfter = await sendFromEach([leader], "woken-", 3);
  await assertReceivedOnce(tag, [...sentWhileFrozen, ...sentAfter]);
  await acked(leader, 3);
  });
});

test("a channel stays subscribed until the last tab listening to it is gone", { timeout: TEST_MS }, async () => {
  const tag = `channels-${RUN}`;
  return inContext(async (context) => {
  const [leader, a, b] = await openTabs(context, 3, { tag, key: tag });
  assert.equal(await settled([leader, a, b]), leader, "the first tab leads");
  await a.evaluate(() => window.subscribe("x"));
  await b.evaluate(() => window.subscribe("x"));
  const subscribed = async () => (await stats(tag)).subscriptions?.x;
  await until("x subscribed", async () => (await subscribed()) === 1);
  await a.close();
  await sleep(500);
  assert.equal(await subscribed(), 1, "b still listens");
  assert.equal((await stats(tag)).unsubscribeFrames, 0);
  await b.close();
  await until("x unsubscribed", async () => (await subscribed()) === undefined);
  assert.equal((await stats(tag)).unsubscribeFrames, 1);
  });
});

test("foreign or malformed messages on the tabs' channel are ignored with a warning", { timeout: TEST_MS }, async () => {
  const tag = `foreign-${RUN}`;
  return inContext(async (context) => {
  const pages = await openTabs(context, 3, { tag, key: tag });
  await settled(pages);
  await pages[0].evaluate((key) => {
    const channel = new BroadcastChannel(`tabwire:${key}`);
    for (const message of ["hello", { tabwire: 2, kind: "hello" }, { tabwire: 1, kind: "nonsense" }, { tabwire: 1, kind: "relay" }]) {
      channel.postMessage(message);
    }
    channel.close();
  }, tag);
  for (const page of pages) await page.waitForFunction(() => window.warnings.length === 4, null, { timeout: WAIT_MS });
  const messages = (await pages[1].evaluate(() => window.warnings)).map(({ message }) => message);
  assert.match(messages[0], /not tabwire's/);
  assert.match(messages[1], /version 2/);
  assert.match(messages[2], /unknown kind "nonsense"/);
  assert.match(messages[3], /malformed/);
  const sent = await sendFromEach(pages, "after-", 1);
  await assertReceivedOnce(tag, sent);
  assert.equal((await stats(tag)).connections, 1);
  });
});

test("with share off, or without Web Locks, every tab is solo with its own connection", { timeout: TEST_MS }, async () => {
  for (const variant of ["off", "no-locks"]) {
    const tag = `solo-${variant}-${RUN}`;
    await inContext(async (context) => {
      if (variant === "no-locks") {
        await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined }));
      }
      const pages = await openTabs(context, 3, { tag, key: tag, share: variant !== "off" });
      await until("three connections", async () => (await stats(tag)).connections === 3);
      assert.deepEqual(await rolesOf(pages), ["solo", "solo", "solo"], variant);
    });
  }
});

test("a leader going into the back/forward cache hands over at once and rejoins as a follower", { timeout: TEST_MS }, async () => {
  const cachingBrowser = await launchBrowser({ backForwardCache: true });
  const tag = `bfcache-${RUN}`;
  try {
    await inContext(async (context) => {
      const [leader, follower] = await openTabs(context, 2, { tag, key: tag });
      assert.equal(await settled([leader, follower]), leader);
      const leftAt = Date.now();
      await leader.goto(new URL("/away.html", server.origin).toString(), { timeout: WAIT_MS });
      await until("the other tab to lead", async () => (await roleOf(follower)) === "leader", 5_000);
      console.log(`bfcache: the other tab led ${Date.now() - leftAt} ms after the leader left`);
      // A page restored from the cache fires no `load`.
      await leader.goBack({ timeout: WAIT_MS, waitUntil: "commit" });
      await leader.waitForFunction(() => window.restoredFromCache, null, { timeout: WAIT_MS });
      await until("the returning tab to follow", async () => (await roleOf(leader)) === "follower");
      await settled([leader, follower]);
      await until("one connection", async () => (await stats(tag)).connections === 1);
      const sent = await sendFromEach([leader, follower], "back-", 2);
      await assertReceivedOnce(tag, sent);
    }, cachingBrowser);
  } finally {
    await closeBrowser(cachingBrowser);
  }
});
