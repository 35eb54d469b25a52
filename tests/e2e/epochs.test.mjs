// A channel whose history started anew is never a silent skip, in the real
// client against the real server: a subscriber got offsets 1-5; the server
// (memory broker) restarts, or its Redis restarts without persistence; 8
// messages are published before the subscriber is back. Offsets 1-8 of the
// new history would pass for repeats of 1-5 without epochs (3 of 8
// delivered, no gap). With them the client hears `gap` with reason "reset"
// and gets all 8, in order, in the new epoch. Run from the repository root
// after `cargo build -p tabwire-server` and `bash scripts/build.sh`:
//
//   node --test tests/e2e/epochs.test.mjs

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";

import { startRedis } from "../chaos/processes.mjs";
import { closeBrowser, control, freePort, launchBrowser, ROOT, startServer, withTimeout } from "./helpers.mjs";

const WAIT_MS = 15_000;
const TEST_MS = 60_000;
const EXIT_AFTER_SECS = 150;
const CHANNEL = "nav:EPOCH";

let pageServer;
let browser;
const cleanups = [];

before(async () => {
  pageServer = await startServer({ www: path.join(ROOT, "tests", "e2e", "pages"), testControl: false, exitAfterSecs: EXIT_AFTER_SECS });
  cleanups.push(() => pageServer.stop());
  browser = await launchBrowser();
});

after(async () => {
  await closeBrowser(browser);
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * A page whose client listens to CHANNEL and records messages and gaps; it
 * retries every 2 s. Resolves once the server took the subscription (a
 * subscription without `since` starts at the channel's newest message).
 */
async function subscriber(wsUrl) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(new URL("/away.html", pageServer.origin).toString());
  await withTimeout(page.evaluate(async ({ url, channel }) => {
    const { default: init, TabWire } = await import("/pkg/tabwire.js");
    await init();
    window.got = [];
    window.gaps = [];
    const tw = new TabWire({
      url, share: false, heartbeat: false, queue: { storage: "memory" },
      reconnect: { minDelayMs: 2000, maxDelayMs: 2000, jitter: "none" },
    });
    tw.on("gap", (gap) => window.gaps.push({ ...gap, seen: window.got.length }));
    window.subscribed = 0;
    tw.on("subscribed", () => (window.subscribed += 1));
    tw.subscribe(channel, ({ data, offset, epoch }) => window.got.push({ data, offset, epoch }));
    window.tw = tw;
  }, { url: wsUrl, channel: CHANNEL }), WAIT_MS, "the subscriber to start");
  await withTimeout(page.waitForFunction(() => window.subscribed > 0, null, { polling: 20 }), WAIT_MS, "the subscription");
  return page;
}

const received = (page, count) =>
  withTimeout(page.waitForFunction((count) => window.got.length >= count, count, { polling: 20 }), WAIT_MS, `${count} messages`)
    .then(() => page.evaluate(() => ({ got: window.got, gaps: window.gaps })));

/** Publishes `from..to` through the control API, retrying while the broker is not back yet. */
async function publish(origin, from, to) {
  for (let value = from; value <= to; value += 1) {
    for (const until = Date.now() + WAIT_MS; ;) {
      try {
        await control(origin, "publish", { channel: CHANNEL, data: value });
        break;
      } catch (error) {
        if (Date.now() > until) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
}

/** The subscriber's view after the history restarted: a reset gap, then 1..8 of the new epoch. */
function assertReset({ got, gaps }, oldEpoch) {
  assert.deepEqual(got.slice(0, 5).map(({ offset, data }) => [offset, data]), [1, 2, 3, 4, 5].map((n) => [n, n]));
  assert.ok(got.slice(0, 5).every(({ epoch }) => epoch === oldEpoch));
  const after = got.slice(5);
  assert.deepEqual(after.map(({ offset, data }) => [offset, data]), [1, 2, 3, 4, 5, 6, 7, 8].map((n) => [n, 100 + n]), "all 8 of the new history, in order");
  const newEpoch = after[0].epoch;
  assert.ok(newEpoch && newEpoch !== oldEpoch, `a new epoch: ${oldEpoch} → ${newEpoch}`);
  assert.ok(after.every(({ epoch }) => epoch === newEpoch));
  assert.equal(gaps.length, 1, JSON.stringify(gaps));
  assert.deepEqual(
    { since: gaps[0].since, from: gaps[0].from, reason: gaps[0].reason, epoch: gaps[0].epoch, seen: gaps[0].seen },
    { since: 5, from: 1, reason: "reset", epoch: newEpoch, seen: 5 },
    "said before the first message of the new history",
  );
}

test("a memory server restarted and published past the client's offset: gap reset, then the whole new history", { timeout: TEST_MS }, async () => {
  const port = await freePort();
  let server = await startServer({ port, exitAfterSecs: EXIT_AFTER_SECS, allowOrigins: [pageServer.origin] });
  cleanups.push(() => server.stop());
  const page = await subscriber(`ws://127.0.0.1:${port}/ws`);
  await publish(server.origin, 1, 5);
  const { got } = await received(page, 5);
  await server.stop("SIGKILL");
  server = await startServer({ port, exitAfterSecs: EXIT_AFTER_SECS, allowOrigins: [pageServer.origin] });
  await publish(server.origin, 101, 108);
  assertReset(await received(page, 13), got[0].epoch);
});

test("Redis restarted without persistence: gap reset, then the whole new history", { timeout: TEST_MS }, async () => {
  const redis = await startRedis(await freePort(), Date.now() + EXIT_AFTER_SECS * 1000);
  cleanups.push(() => redis.stop());
  const server = await startServer({ exitAfterSecs: EXIT_AFTER_SECS, args: ["--redis", redis.url], allowOrigins: [pageServer.origin] });
  cleanups.push(() => server.stop());
  const page = await subscriber(`${server.origin.replace(/^http/, "ws")}/ws`);
  await publish(server.origin, 1, 5);
  const { got } = await received(page, 5);
  await redis.crash();
  await redis.start();
  await publish(server.origin, 101, 108);
  assertReset(await received(page, 13), got[0].epoch);
});
