// tabwire/react in a real browser: the page of tests/consumer/react/, built
// by Vite (React's development build, so that StrictMode runs effects
// twice) with the package installed from its tarball, served by the
// reference server, which tells what the page's client did (/control/stats
// for the page's tag: connections, subscriptions, subscribe frames). Run
// from the repository root after `bash scripts/build.sh` and
// `cargo build -p tabwire-server`:
//
//   node --test tests/consumer/

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { control, sleep } from "../e2e/helpers.mjs";
import { problemsOf, servedApp } from "./served.mjs";

const WAIT_MS = 15_000;
/** Tells this run's tags and channels from any other's on the same server. */
const RUN = `${process.pid}`;

let app;

before(async () => {
  app = await servedApp("react", { development: true });
});

after(() => app?.close());

const stats = (tag) => control(app.server.origin, "stats", { tag });
const publish = (channel, data) => control(app.server.origin, "publish", { channel, data: JSON.stringify(data) });

/** Resolves once `check()` resolves to true; polls, and fails after WAIT_MS naming `what`. */
async function until(check, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Runs `body(page, tag)` on the test page in a fresh browser context (its
 * own Web Locks and storage, so no other test's tab shares the
 * connection), then checks that nothing was logged as an error or a
 * warning, by React or tabwire, and that no exception escaped.
 */
async function onPage(name, query, body) {
  const tag = `${name}-${RUN}`;
  const context = await app.browser.newContext();
  const page = await context.newPage();
  const problems = problemsOf(page);
  try {
    await page.goto(`${app.server.origin}/?${new URLSearchParams({ tag, ...query })}`);
    await page.locator("#state", { hasText: /^open$/ }).waitFor({ timeout: WAIT_MS });
    await body(page, tag);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
}

const log = (page) => page.evaluate(() => window.harness.log);
const shows = (page, id, text) => page.locator(`#${id}`, { hasText: text }).waitFor({ timeout: WAIT_MS });

test("useChannel: a published message arrives; an inline listener keeps its one subscription across renders", async () => {
  const channel = `prices-${RUN}`;
  await onPage("channel", { channel }, async (page, tag) => {
    await until(async () => (await stats(tag)).subscriptions[channel] === 1, "the subscription");
    await publish(channel, { n: 1 });
    await shows(page, "last", '{"n":1}');

    for (let render = 1; render <= 5; render += 1) {
      await page.evaluate(() => window.harness.rerender());
      await shows(page, "renders", new RegExp(`^${render}$`));
    }
    await publish(channel, { n: 2 });
    await shows(page, "last", '{"n":2}');

    const { messages } = await log(page);
    assert.deepEqual(
      messages.map(({ data, render }) => [data.n, render]),
      [[1, 0], [2, 5]],
      "each message once, to the listener of the latest render",
    );
    const { subscribeFrames, unsubscribeFrames } = await stats(tag);
    assert.deepEqual({ subscribeFrames, unsubscribeFrames }, { subscribeFrames: 1, unsubscribeFrames: 0 });
  });
});

test("useChannel: another channel moves the subscription, an unmount ends it", async () => {
  const [first, second] = [`rates-${RUN}`, `fx-${RUN}`];
  await onPage("switch", { channel: first }, async (page, tag) => {
    await until(async () => (await stats(tag)).subscriptions[first] === 1, "the first subscription");
    await publish(first, { rate: 1 });
    await shows(page, "last", '{"rate":1}');

    await page.evaluate((channel) => window.harness.setChannel(channel), second);
    await until(async () => JSON.stringify((await stats(tag)).subscriptions) === JSON.stringify({ [second]: 1 }), "the move");
    await shows(page, "last", "none");
    await publish(second, { rate: 2 });
    await shows(page, "last", '{"rate":2}');

    await page.evaluate(() => window.harness.setChannel(null));
    await until(async () => Object.keys((await stats(tag)).subscriptions).length === 0, "no subscription");
    assert.equal((await stats(tag)).connections, 1, "the provider's client stays connected");
  });
});

test("StrictMode: one client, one socket and one subscription; unmounting the provider closes it", async () => {
  const channel = `navs-${RUN}`;
  await onPage("strict", { channel, strict: "" }, async (page, tag) => {
    await until(async () => (await stats(tag)).subscriptions[channel] === 1, "the subscription");
    // Give a second client or subscription, if any, time to show up.
    await sleep(500);
    const { connections, connectionsTotal, subscribeFrames } = await stats(tag);
    assert.deepEqual({ connections, connectionsTotal, subscribeFrames }, { connections: 1, connectionsTotal: 1, subscribeFrames: 1 });

    await publish(channel, { nav: 101.5 });
    await shows(page, "last", '{"nav":101.5}');
    await sleep(200);
    assert.equal((await log(page)).messages.length, 1, "one listener got the message, once");

    await page.evaluate(() => window.harness.unmount());
    await until(async () => (await stats(tag)).connections === 0, "the socket to close");
  });
});

test("useConnectionState: a dropped connection shows reconnecting, then open again", async () => {
  await onPage("state", {}, async (page, tag) => {
    await control(app.server.origin, "drop", { tag });
    const rendered = async () => (await log(page)).snapshots.map((snapshot) => snapshot.state);
    await until(async () => {
      const states = await rendered();
      return states.lastIndexOf("reconnecting") > states.indexOf("open") && states.at(-1) === "open";
    }, "reconnecting, then open");

    const { snapshots } = await log(page);
    const retrying = snapshots.findLast((snapshot) => snapshot.state === "reconnecting");
    assert.equal(retrying.attempt, 1);
    assert.equal(retrying.transport, undefined, "no transport while none is open");
    assert.equal(snapshots.at(-1).transport, "websocket");
    assert.equal(typeof retrying.retryAt, "number");
    assert.equal((await stats(tag)).connectionsTotal, 2);
  });
});

test("useConnectionState: the outbox count follows sends (read by the poll) and acks", async () => {
  await onPage("queued", {}, async (page, tag) => {
    // A stalled server reads nothing: the messages wait for their acks.
    await control(app.server.origin, "stall", { tag });
    await page.evaluate(() => [window.harness.send("one"), window.harness.send("two")]);
    await shows(page, "queued", /^2$/);
    await control(app.server.origin, "resume", { tag });
    await shows(page, "queued", /^0$/);
  });
});

test("useOnType and useTabWireEvent: a typed frame and an ack reach their listeners", async () => {
  await onPage("frames", {}, async (page) => {
    const receipt = await page.evaluate(() => window.harness.send({ type: "greeting", text: "hi" }));
    assert.equal(receipt.status, "sent");
    await until(async () => (await log(page)).acks.includes(receipt.id), "the ack");
    await until(async () => (await log(page)).types.length > 0, "the echoed greeting");
    assert.deepEqual((await log(page)).types, [{ type: "greeting", text: "hi" }]);
  });
});
