// The tests every foreign echo server gets (see ws.test.mjs,
// ws-no-subprotocol.test.mjs, python-websockets.test.mjs): tabwire on
// default options, only `url`, against a server that knows nothing of
// tabwire. Each test has its own path on the server, hence its own
// namespace (the URL without its query), and its own browser context.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { freePort } from "../e2e/helpers.mjs";
import {
  environment, eventsOf, loaded, sendAll, takeDown, TEST_MS, until, waitEvent, waitFrames, waitMessages,
  waitOutboxEmpty, wsPath, wsUrl,
} from "./harness.mjs";
import { describeBinary } from "./servers.mjs";

const BYTES = [0, 1, 2, 127, 128, 254, 255];
const BINARY = describeBinary(BYTES);

/** Frames that would show tabwire's protocol leaking into a raw connection. */
function assertNoProtocolFrames(frames) {
  for (const frame of frames) {
    assert.ok(!/"type"\s*:\s*"(msg|ping|hello|auth)"/.test(frame), `a tabwire protocol frame reached the server: ${frame}`);
  }
}

/** Waits for the page's first open and checks it is raw. */
async function openedRaw(page) {
  const [open] = await waitEvent(page, "open");
  assert.deepEqual(open, { attempt: 0, protocol: "raw", transport: "websocket" });
  assert.equal((await page.evaluate(() => window.stats())).protocol, "raw");
}

/** The garbage a test puts under the outbox prefix: id -> value, none of them a readable message. */
const GARBAGE = {
  "0000000000001-garbage1-00000001": "not a record at all",
  "0000000000002-garbage2-00000002": "",
  "0000000000003-garbage3-00000003": "tw1|yesterday|0|t|bad created time",
  "0000000000004-garbage4-00000004": "tw1|1700000000000|0|b|!!! not base64 !!!",
  "0000000000005-garbage5-00000005": "tw1|1700000000000|0|q|unknown kind",
  "not-a-message-id": "tw1|1700000000000|0|t|readable, but under a key that is no id",
  "0000000000006-garbage6-00000006": '{"type":"msg","id":"x","data":"a stranger\'s JSON"}',
};

/**
 * Registers the tests for one server kind. `make()` returns a new,
 * unstarted ForeignServer; the tests start it on a free port and stop and
 * restart it on that port.
 */
export function echoSuite(make) {
  const env = environment();
  let server;

  before(async () => {
    server = env.track(make());
    await server.start(await freePort());
    await env.open();
  }, { timeout: 60_000 });

  after(() => env.close(), { timeout: 30_000 });

  const restart = () => server.start();

  test("echo of text, JSON and binary: raw frames as sent, no envelope, no ping, no subprotocol offered", { timeout: TEST_MS }, () =>
    env.inContext(async (context) => {
      const page = await env.openClient(context, wsUrl(server, "echo"));
      await openedRaw(page);
      const receipts = await sendAll(page, ["hello foreign server", { kind: "json", n: 1 }, { bytes: BYTES }]);
      assert.deepEqual(receipts.map((receipt) => receipt.status), ["sent", "sent", "sent"]);
      const sent = ["hello foreign server", '{"kind":"json","n":1}', BINARY];
      assert.deepEqual(await waitFrames(server, wsPath("echo"), 3), sent, "the server received exactly the frames sent");
      const connections = server.connectionsOf(wsPath("echo"));
      assert.equal(connections.length, 1, "one socket");
      assert.equal(connections[0].offered, null, "no Sec-WebSocket-Protocol offered");
      assertNoProtocolFrames(connections[0].frames);
      assert.deepEqual(await waitMessages(page, sent), sent, "the echoes arrive as they were sent, with their type");
      assert.deepEqual(await eventsOf(page, "warning"), []);
      assert.deepEqual(await eventsOf(page, "error"), []);
    }));

  test("sends while the server is down are delivered in order, once, when it is back", { timeout: TEST_MS }, () =>
    env.inContext(async (context) => {
      const path = wsPath("down");
      const page = await env.openClient(context, wsUrl(server, "down"));
      await openedRaw(page);
      await sendAll(page, ["before"]);
      await waitFrames(server, path, 1);
      await takeDown(server, page);
      const queued = ["down-0", { bytes: BYTES }, "down-2", { n: 3 }, "down-4"];
      const receipts = await sendAll(page, queued);
      assert.deepEqual(receipts.map((receipt) => receipt.status), ["queued", "queued", "queued", "queued", "queued"]);
      assert.equal((await page.evaluate(() => window.storedKeys())).length, 5, "each queued message has its key");
      await restart();
      const expected = ["down-0", BINARY, "down-2", '{"n":3}', "down-4"];
      const frames = await waitFrames(server, path, 6);
      assert.deepEqual(frames, ["before", ...expected], "in order, each once");
      const connections = server.connectionsOf(path);
      assert.equal(connections.length, 2);
      assert.deepEqual(connections[1].frames, expected, "all on the new socket");
      assert.equal(connections[1].offered, null);
      await waitOutboxEmpty(page);
      await waitMessages(page, expected);
      const opens = await eventsOf(page, "open");
      assert.equal(opens.length, 2);
      assert.equal(opens[1].protocol, "raw");
    }));

  test("a reload while down: the new page load sends what the old one queued first, in order, once", { timeout: TEST_MS }, () =>
    env.inContext(async (context) => {
      const path = wsPath("reload");
      const page = await env.openClient(context, wsUrl(server, "reload"));
      await openedRaw(page);
      await takeDown(server, page);
      const queued = ["reload-0", "reload-1", { bytes: BYTES }, "reload-3"];
      const receipts = await sendAll(page, queued);
      assert.ok(receipts.every((receipt) => receipt.status === "queued"), JSON.stringify(receipts));
      await page.reload({ timeout: 15_000 });
      await loaded(page);
      assert.equal((await page.evaluate(() => window.storedKeys())).length, 4, "the old page's messages are still stored");
      // Newer than the stored ones: it must go after them.
      const [late] = await sendAll(page, ["after-reload"]);
      assert.equal(late.status, "queued", JSON.stringify(late));
      await restart();
      const expected = ["reload-0", "reload-1", BINARY, "reload-3", "after-reload"];
      await waitFrames(server, path, expected.length);
      await waitOutboxEmpty(page);
      const connections = server.connectionsOf(path);
      assert.equal(connections.length, 2, "the old page's socket, then the new page's");
      assert.deepEqual(connections[0].frames, [], "the old page sent nothing");
      assert.deepEqual(connections[1].frames, expected, "the stored messages first, in order, each once");
      await waitMessages(page, expected);
    }));

  test("a follower tab's sends reach the server once each through the leader's socket, and it gets the echoes", { timeout: TEST_MS }, () =>
    env.inContext(async (context) => {
      const path = wsPath("follower");
      const url = wsUrl(server, "follower");
      const leader = await env.openClient(context, url);
      await waitEvent(leader, "role", { role: "leader" });
      await openedRaw(leader);
      const follower = await env.openClient(context, url);
      await waitEvent(follower, "role", { role: "follower" });
      await until("the follower to see the shared connection open", () => follower.evaluate(() => window.tw.state === "open"));
      // The leader counts the follower when its hello arrives, and says so in its next announce.
      const stats = await until("the follower to count two tabs", async () => {
        const stats = await follower.evaluate(() => window.stats());
        return stats.tabs === 2 ? stats : null;
      });
      assert.equal(stats.role, "follower");
      const fromFollower = ["from-follower-0", { bytes: BYTES }, "from-follower-2"];
      const receipts = await sendAll(follower, fromFollower);
      assert.ok(receipts.every((receipt) => receipt.status !== "refused"), JSON.stringify(receipts));
      await sendAll(leader, ["from-leader"]);
      const expected = ["from-follower-0", BINARY, "from-follower-2"];
      const frames = await until("every frame at the server", () => {
        const frames = server.framesOf(path);
        return [...expected, "from-leader"].every((frame) => frames.includes(frame)) ? frames : null;
      });
      assert.equal(frames.length, 4, `each once: ${JSON.stringify(frames)}`);
      assert.deepEqual(frames.filter((frame) => expected.includes(frame)), expected, "the follower's in its order");
      assert.equal(server.connectionsOf(path).length, 1, "one socket for both tabs");
      assertNoProtocolFrames(frames);
      await waitMessages(follower, expected);
      await waitOutboxEmpty(follower);
      await waitOutboxEmpty(leader);
    }));

  test("garbage stored under the namespace is skipped with a warning each, left alone, and the rest works", { timeout: TEST_MS }, () =>
    env.inContext(async (context) => {
      const path = wsPath("garbage");
      const page = await env.openClient(context, wsUrl(server, "garbage"), { manual: true });
      const keys = await page.evaluate((garbage) => {
        for (const [id, value] of Object.entries(garbage)) localStorage.setItem(`${window.prefix}${id}`, value);
        window.start();
        return Object.keys(garbage).map((id) => `${window.prefix}${id}`).sort();
      }, GARBAGE);
      await openedRaw(page);
      const warned = await until("a warning for every garbage key", async () => {
        const warned = (await eventsOf(page, "warning")).map((warning) => warning.key);
        return keys.every((key) => warned.includes(key)) ? warned : null;
      });
      assert.deepEqual([...new Set(warned)].sort(), keys, "warnings name the garbage keys, and only them");
      const sent = ["after-garbage", { bytes: BYTES }];
      await sendAll(page, sent);
      assert.deepEqual(await waitFrames(server, path, 2), ["after-garbage", BINARY]);
      await waitMessages(page, ["after-garbage", BINARY]);
      // Queued next to the garbage, across a restart.
      await takeDown(server, page);
      await sendAll(page, ["queued-0", "queued-1"]);
      await restart();
      assert.deepEqual(await waitFrames(server, path, 4), ["after-garbage", BINARY, "queued-0", "queued-1"],
        "only what was sent reached the server, none of the garbage");
      await until("the sent messages to leave storage", () =>
        page.evaluate((keys) => window.storedKeys().every((key) => keys.includes(key)), keys));
      const left = await page.evaluate((keys) => Object.fromEntries(keys.map((key) => [key, localStorage.getItem(key)])), keys);
      const prefix = await page.evaluate(() => window.prefix);
      assert.deepEqual(left, Object.fromEntries(Object.entries(GARBAGE).map(([id, value]) => [`${prefix}${id}`, value])),
        "the garbage is left as it was");
      assert.deepEqual((await eventsOf(page, "error")).filter((error) => error.kind === "storage_failed"), []);
    }));

  test("a full localStorage: storage_failed, and the message is still delivered when the server is back", { timeout: TEST_MS }, () =>
    env.inContext(async (context) => {
      const path = wsPath("full");
      const page = await env.openClient(context, wsUrl(server, "full"));
      await openedRaw(page);
      await takeDown(server, page);
      const fill = await page.evaluate(() => window.fillStorage());
      assert.equal(fill.stoppedBy, "QuotaExceededError", JSON.stringify(fill));
      const receipts = await sendAll(page, ["full-0", { bytes: BYTES }, "full-2"]);
      assert.deepEqual(receipts.map((receipt) => receipt.status), ["queued", "queued", "queued"]);
      const failures = await waitEvent(page, "error", { kind: "storage_failed" });
      assert.equal(typeof failures[0].message, "string");
      assert.deepEqual(await page.evaluate(() => window.storedKeys()), [], "nothing could be stored");
      assert.deepEqual(await page.evaluate(() => window.outboxData()), ["full-0", BINARY, "full-2"], "kept in memory");
      await restart();
      const expected = ["full-0", BINARY, "full-2"];
      const frames = await waitFrames(server, path, 3);
      assert.deepEqual(frames, expected, "delivered in order, once");
      await waitOutboxEmpty(page);
      await waitMessages(page, expected);
      await page.evaluate(() => window.unfillStorage());
    }));
}
