// How tabwire decides what a foreign server speaks, and what it does not
// do to one that speaks nothing:
//
// - an application that offers `tabwire.v1` itself (`protocols`) to
//   Node's `ws` (no options) gets it selected by `ws`, which does not speak
//   it: the client must not trust the selection, but wait for the hello,
//   warn (key "hello") that the server selected tabwire.v1 without
//   greeting, and run raw, echo working;
// - a silent raw server (accepts, never sends a byte) with a short
//   heartbeat (`intervalMs: 200, timeoutMs: 300`, no `ping`) keeps ONE
//   socket for many heartbeat periods: raw connections are not pinged
//   unless the application gives a ping, so silence is no sign of death,
//   and the server receives no ping frame;
// - the control of the one above: with `heartbeat.ping` given, the same
//   server receives that ping and the silence after it does end the
//   socket (heartbeat_timeout), so the short timings are in force.
//
//   node --test tests/foreign/handshake.test.mjs

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { freePort } from "../e2e/helpers.mjs";
import { environment, eventsOf, TEST_MS, until, waitEvent, waitFrames, waitMessages, wsPath, wsUrl } from "./harness.mjs";
import { nodeWs } from "./servers.mjs";

const HEARTBEAT = { intervalMs: 200, timeoutMs: 300 };
/** How long the silent connection must last: many heartbeat periods and timeouts. */
const SILENT_MS = 2_000;

const env = environment();
let echo;
let silent;

before(async () => {
  echo = env.track(nodeWs());
  silent = env.track(nodeWs({ silent: true }));
  await echo.start(await freePort());
  await silent.start(await freePort());
  await env.open();
}, { timeout: 60_000 });

after(() => env.close(), { timeout: 30_000 });

test("protocols: [\"tabwire.v1\"] given by the app: ws selects it, the client warns \"hello\", runs raw, and echo works", { timeout: TEST_MS }, () =>
  env.inContext(async (context) => {
    const path = wsPath("offered");
    const page = await env.openClient(context, wsUrl(echo, "offered"), { extra: { protocols: ["tabwire.v1"] } });
    const [open] = await waitEvent(page, "open");
    assert.deepEqual(open, { attempt: 0, protocol: "raw", transport: "websocket" });
    assert.equal((await page.evaluate(() => window.stats())).protocol, "raw");
    const warnings = await waitEvent(page, "warning", { key: "hello" });
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0].message, /tabwire\.v1/);
    const [connection] = echo.connectionsOf(path);
    assert.equal(connection.offered, "tabwire.v1", "the app's subprotocol, and only it, was offered");
    assert.equal(connection.selected, "tabwire.v1", "ws selected it");
    await page.evaluate(() => [window.send("hello ws"), window.sendBytes([9, 8, 7])]);
    const expected = ["hello ws", "binary:090807"];
    assert.deepEqual(await waitFrames(echo, path, 2), expected, "raw frames, no envelope, no hello or auth frame");
    await waitMessages(page, expected);
    assert.equal(echo.connectionsOf(path).length, 1);
    assert.deepEqual(await eventsOf(page, "error"), []);
  }));

test("a silent raw server keeps one socket for many heartbeat periods: no ping is sent, so none goes unanswered", { timeout: TEST_MS }, () =>
  env.inContext(async (context) => {
    const path = wsPath("silent");
    const page = await env.openClient(context, wsUrl(silent, "silent"), { extra: { heartbeat: HEARTBEAT } });
    const [open] = await waitEvent(page, "open");
    assert.equal(open.protocol, "raw");
    const openedAt = (await page.evaluate(() => window.named("open")[0].at));
    // The positive marker: a probe every 250 ms, each received on the first
    // socket, until SILENT_MS after the open (10 intervals, 6 timeouts).
    const probes = [];
    for (let index = 0; ; index += 1) {
      const probe = `probe-${index}`;
      probes.push(probe);
      assert.equal((await page.evaluate((probe) => window.send(probe), probe)).status, "sent");
      await waitFrames(silent, path, probes.length);
      if (Date.now() - openedAt >= SILENT_MS) break;
      await until("the next probe time", () => Date.now() - openedAt >= (index + 1) * 250);
    }
    const connections = silent.connectionsOf(path);
    assert.equal(connections.length, 1, "one socket all along");
    assert.deepEqual(connections[0].frames, probes, "the probes and nothing else: no ping");
    assert.equal((await eventsOf(page, "open")).length, 1);
    assert.deepEqual(await eventsOf(page, "close"), []);
    assert.deepEqual(await eventsOf(page, "error"), [], "no heartbeat_timeout");
    const stats = await page.evaluate(() => window.stats());
    assert.equal(stats.state, "open");
    assert.equal(stats.reconnects, 0);
  }));

test("control: with heartbeat.ping given, the silent server receives the ping and the silence ends the socket", { timeout: TEST_MS }, () =>
  env.inContext(async (context) => {
    const path = wsPath("pinged");
    const extra = { heartbeat: { ...HEARTBEAT, ping: "app-ping" } };
    const page = await env.openClient(context, wsUrl(silent, "pinged"), { extra });
    const [open] = await waitEvent(page, "open");
    assert.equal(open.protocol, "raw");
    const [ping] = await waitFrames(silent, path, 1);
    assert.equal(ping, "app-ping");
    const [timeout] = await waitEvent(page, "error", { kind: "heartbeat_timeout" });
    assert.equal(typeof timeout.message, "string");
    const [close] = await waitEvent(page, "close");
    assert.equal(close.code, 4000);
    assert.equal(close.willReconnect, true);
    await until("a second socket", () => silent.connectionsOf(path).length >= 2);
  }));
