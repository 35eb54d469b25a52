// End-to-end tests of the HTTP transport (docs/PROTOCOL.md, "HTTP
// transport") in headless Chromium: the real client behind a test proxy
// (tests/e2e/proxy.mjs) that refuses WebSocket upgrades, kills sockets a
// few seconds after they open, or buffers responses, in front of the
// reference server. The pages come from another server (another origin),
// as an application's would. Run from the repository root after
// `cargo build -p tabwire-server` and `bash scripts/build.sh`:
//
//   node --test tests/e2e/http-transport.test.mjs tests/e2e/http-transport-2.test.mjs
//
// This file: falling back when upgrades are refused (delivery, channels
// across a drop), moving back to the WebSocket, a proxy that kills sockets
// (no flapping), a buffering proxy (polls). http-transport-2.test.mjs: the
// server down, a reload, three tabs, the `transports` option and auth.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { control, sleep } from "./helpers.mjs";
import {
  assertNoRepeat,
  channelGot,
  inContext,
  logOf,
  openClient,
  opened,
  publish,
  RECONNECT,
  range,
  receivedAll,
  RUN,
  serverStats,
  spawnProxy,
  spawnServer,
  startAll,
  startPublishing,
  statsOf,
  stopAll,
  subscribedTimes,
  transportsOf,
  unexpectedErrors,
  until,
} from "./http-transport-helpers.mjs";

let server;

before(async () => {
  await startAll();
  server = await spawnServer();
}, { timeout: 60_000 });

after(stopAll, { timeout: 30_000 });

test("upgrades refused: open on SSE; what was sent before and during the fall back arrives once, in order; a channel resumes after a drop", { timeout: 60_000 }, async () => {
  const tag = `refused-${RUN}`;
  const channel = `refused:${RUN}`;
  const proxy = await spawnProxy(server, { upgrades: "refuse" });
  await inContext(async (context) => {
    const options = { url: proxy.wsUrl(`/ws?tag=${tag}`), reconnect: RECONNECT, queue: { key: tag } };
    const client = await openClient(context, options, { channels: [channel] });
    const { page } = client;
    // Nothing is open yet: kept in the outbox (localStorage).
    const early = await page.evaluate((tag) => ({
      statuses: window.sendMany("early-", 5).map((receipt) => receipt.status),
      stored: Object.keys(localStorage).filter((key) => key.startsWith(`tabwire:${tag}:ob:`)).length,
    }), tag);
    assert.deepEqual(early, { statuses: Array(5).fill("queued"), stored: 5 }, "queued, and stored");
    await page.evaluate(() => window.startSending("during-", 100));

    const log = await opened(client, 1);
    const openMs = log.opens[0].at - log.created;
    console.log(`refused: open on ${log.opens[0].transport} after ${openMs} ms; proxy ${JSON.stringify(proxy.counts())}`);
    assert.equal(log.opens[0].transport, "sse", JSON.stringify(log.opens));
    assert.equal(log.opens[0].protocol, "tabwire.v1");
    assert.ok(openMs < 10_000, `opened on HTTP within 10 s (${openMs} ms)`);
    assert.ok(proxy.counts().upgrades.refused >= 3, "three WebSocket attempts first");

    await sleep(700);
    const during = await page.evaluate(() => window.stopSending());
    assert.ok(during.some(({ status }) => status === "queued"), "some sent while falling back");
    assert.ok(during.some(({ status }) => status === "sent"), "some sent once open");
    const texts = [...range("early-", 5), ...during.map(({ text }) => text)];
    const frames = await receivedAll(server, tag, texts);
    assert.deepEqual(frames, texts, "the server handled each message once, in order");
    await until("every ack", async () => (await logOf(client)).acks.length >= texts.length);
    const afterAcks = await logOf(client);
    assert.equal(afterAcks.acks.length, texts.length, "one ack each");
    assertNoRepeat(afterAcks.acks, "acks");
    assert.deepEqual(afterAcks.messages.filter((m) => texts.includes(m)), texts, "echoed back once each, in order");
    assert.equal(await page.evaluate(() => window.tw.outbox().length), 0, "the outbox is empty");

    const stats = await serverStats(server, tag);
    console.log(`refused: server stats ${JSON.stringify(stats)}`);
    assert.equal(stats.connections, 1, "one session");
    assert.deepEqual(stats.httpSessions, { stream: 1, poll: 0 }, "a streaming session");
    assert.equal((await statsOf(client)).transport, "sse", "stats().transport");

    // A channel over the stream, across a session drop; messages handled
    // but not acknowledged before it are sent again on the next session
    // and recognised by the server.
    await subscribedTimes(client, channel, 1);
    await publish(server, channel, [1, 2, 3, 4, 5]);
    await channelGot(client, channel, 5);
    await control(server.origin, "acks", { tag, enabled: false });
    await page.evaluate(() => window.sendMany("unacked-", 3));
    await receivedAll(server, tag, range("unacked-", 3));
    await control(server.origin, "acks", { tag, enabled: true });
    const dropped = await control(server.origin, "drop", { tag });
    assert.equal(dropped.dropped, 1, "the server dropped the session");
    await publish(server, channel, [6, 7, 8]);
    await subscribedTimes(client, channel, 2);
    await publish(server, channel, [9, 10]);
    const receipt = await page.evaluate((channel) => window.tw.publish(channel, 11), channel);
    assert.notEqual(receipt.status, "refused");
    const got = await channelGot(client, channel, 11);
    await sleep(300);
    const final = await logOf(client);
    const data = final.channel.map((entry) => entry.data);
    assert.deepEqual(data, range("", 11, 1).map(Number), "every publication once, in order, across the drop");
    assert.deepEqual(got.map((entry) => entry.offset), range("", 11, 1).map(Number), "offsets 1..11");
    assert.deepEqual(final.gaps, [], "no gap");
    assert.deepEqual(transportsOf(final), ["sse", "sse"], "reopened on SSE after the drop");
    assert.equal(final.closes[0].code, 1006, `a drop is a 1006 close: ${JSON.stringify(final.closes)}`);
    await until("the resent messages acked", async () => (await logOf(client)).acks.length >= texts.length + 4);
    const { frames: all } = await control(server.origin, "received", { tag });
    assert.deepEqual(all, [...texts, ...range("unacked-", 3), "11"], "resent on the new session, handled once; then the publication");
    assertNoRepeat((await logOf(client)).acks, "acks");
    const statsAfter = await serverStats(server, tag);
    assert.equal(statsAfter.duplicates, 3, `the server recognised the 3 resent: ${JSON.stringify(statsAfter)}`);
    assert.deepEqual(unexpectedErrors(final), []);
    assert.deepEqual(client.pageErrors, []);
  });
});

test("upgrades allowed again: back on the WebSocket after a probe held 10 s, and on HTTP at once when it dies young; messages and publications around the switches once, in order", { timeout: 90_000 }, async () => {
  const tag = `upgrade-${RUN}`;
  const channel = `upgrade:${RUN}`;
  const proxy = await spawnProxy(server, { upgrades: "refuse" });
  await inContext(async (context) => {
    const options = { url: proxy.wsUrl(`/ws?tag=${tag}`), reconnect: RECONNECT, queue: { key: tag } };
    const client = await openClient(context, options, { channels: [channel] });
    const { page } = client;
    const first = await opened(client, 1);
    assert.equal(first.opens[0].transport, "sse");
    // Kept once the probe made at once failed.
    await until("the fall back kept", async () => /^sse\|\d+$/.test(Object.values(await page.evaluate(() => window.storedTransports())).join()));
    await subscribedTimes(client, channel, 1);

    await page.evaluate(() => window.startSending("s-", 200));
    const stopPublishing = startPublishing(server, channel, "p-", 200);
    await sleep(500);
    proxy.set({ upgrades: "pass" });
    const switchedAt = Date.now();
    let log;
    try {
      log = await until("an open on the WebSocket", async () => {
        const log = await logOf(client);
        return log.opens.some((open) => open.transport === "websocket") ? log : null;
      }, 40_000, 200);
    } catch (error) {
      await page.evaluate(() => window.stopSending?.());
      await stopPublishing();
      throw error;
    }
    await sleep(1000);
    const wsOpen = log.opens.find((open) => open.transport === "websocket");
    const afterSwitch = wsOpen.at - switchedAt;
    console.log(`upgrade: on the WebSocket ${afterSwitch} ms after the switch; proxy ${JSON.stringify(proxy.counts())}`);
    assert.ok(afterSwitch >= 9_000, `the probe held 10 s first (${afterSwitch} ms)`);
    assert.equal((await statsOf(client)).transport, "websocket");
    assert.deepEqual(await page.evaluate(() => window.storedTransports()), {}, "the fall back is forgotten");
    assert.ok(proxy.counts().upgrades.passed >= 2, "a probe, then the connection");

    // The proxy breaks WebSockets again: one that dies young after an
    // upgrade is enough to fall back at once.
    proxy.set({ upgrades: "refuse" });
    proxy.dropUpgraded();
    const droppedAt = Date.now();
    assert.ok(droppedAt - wsOpen.at < 8_000, "the WebSocket died young");
    const refusedBefore = proxy.counts().upgrades.refused;
    const back = await until("an open on SSE again", async () => {
      const log = await logOf(client);
      return log.opens.length >= 3 ? log : null;
    });
    console.log(`upgrade: back on ${back.opens[2].transport} ${back.opens[2].at - droppedAt} ms after the WebSocket died`);
    assert.equal(back.opens[2].transport, "sse");
    // At most the probe made at once on HTTP: no WebSocket attempt before.
    assert.ok(proxy.counts().upgrades.refused - refusedBefore <= 1, "no WebSocket attempt first");
    await sleep(1000);

    const sent = await page.evaluate(() => window.stopSending());
    const published = await stopPublishing();
    const texts = sent.map(({ text }) => text);
    const frames = await receivedAll(server, tag, texts);
    assert.deepEqual(frames, texts, "each message handled once, in order");
    const got = await channelGot(client, channel, published.length);
    await sleep(300);
    const final = await logOf(client);
    assert.deepEqual(final.channel.map((entry) => entry.data), published, "each publication once, in order");
    assert.deepEqual(got.map((e) => e.offset), range("", published.length, 1).map(Number));
    assert.deepEqual(final.gaps, [], "no gap");
    assert.deepEqual(transportsOf(final), ["sse", "websocket", "sse"], "one open each; the probe is not an open");
    const upgradeClose = final.closes.find((close) => close.reason === "upgrade to websocket");
    assert.ok(upgradeClose?.willReconnect, `the HTTP session closed for the upgrade: ${JSON.stringify(final.closes)}`);
    assert.match(Object.values(await page.evaluate(() => window.storedTransports())).join(), /^sse\|\d+$/, "remembered again");
    await until("the acks", async () => (await logOf(client)).acks.length >= texts.length);
    assertNoRepeat((await logOf(client)).acks, "acks");
    assert.deepEqual(unexpectedErrors(final), []);
    assert.deepEqual(client.pageErrors, []);
  });
});

test("a proxy that kills sockets 2 s after they open: settled on SSE, no flapping", { timeout: 90_000 }, async () => {
  const tag = `kill-${RUN}`;
  const proxy = await spawnProxy(server, { upgrades: "kill", killAfterMs: 2000 });
  await inContext(async (context) => {
    const options = { url: proxy.wsUrl(`/ws?tag=${tag}`), reconnect: RECONNECT, queue: { key: tag } };
    const client = await openClient(context, options);
    const settled = await until("an open on SSE", async () => {
      const log = await logOf(client);
      return log.opens.find((open) => open.transport === "sse");
    }, 40_000, 200);
    const upgradesAtSettle = proxy.counts().upgrades.total;
    const statsAtSettle = await statsOf(client);
    await sleep(Math.max(0, settled.at + 30_000 - Date.now()));
    const log = await logOf(client);
    const before = log.opens.filter((open) => open.at < settled.at).map((open) => open.transport);
    const later = log.opens.filter((open) => open.at > settled.at).map((open) => open.transport);
    const counts = proxy.counts();
    console.log(`kill: opens before settling ${JSON.stringify(before)}, after ${JSON.stringify(later)} (30 s); ` +
      `settled ${settled.at - log.created} ms after start; proxy ${JSON.stringify(counts)}`);
    assert.deepEqual(before, ["websocket", "websocket", "websocket"], "three short-lived WebSockets, then HTTP");
    assert.ok(later.filter((t) => t === "websocket").length <= 2, `no flapping: ${JSON.stringify(later)}`);
    assert.deepEqual(later.filter((t) => t === "websocket"), [], "probes are not opens");
    const statsLater = await statsOf(client);
    assert.equal(statsLater.transport, "sse", "still on SSE");
    assert.equal(statsLater.attempts, statsAtSettle.attempts, "probes are no connection attempts");
    assert.equal(statsLater.reconnects, statsAtSettle.reconnects);
    const probes = counts.upgrades.total - upgradesAtSettle;
    assert.ok(probes >= 2 && probes <= 4, `probed in the background, more and more rarely: ${probes} in 30 s`);
    // Still working: a message goes through.
    await client.page.evaluate(() => window.tw.send("after-30s"));
    assert.deepEqual(await receivedAll(server, tag, ["after-30s"]), ["after-30s"]);
    assert.deepEqual(client.pageErrors, []);
  });
});

test("a proxy that buffers responses: SSE never greets, the client ends on polling, messages flow both ways", { timeout: 60_000 }, async () => {
  const tag = `buffer-${RUN}`;
  const channel = `buffer:${RUN}`;
  const proxy = await spawnProxy(server, { upgrades: "refuse", buffer: true });
  await inContext(async (context) => {
    const options = { url: proxy.wsUrl(`/ws?tag=${tag}`), reconnect: RECONNECT, queue: { key: tag } };
    const client = await openClient(context, options, { channels: [channel] });
    const { page } = client;
    const log = await opened(client, 1, 30_000);
    const counts = proxy.counts();
    console.log(`buffer: opens ${JSON.stringify(transportsOf(log))} after ${log.opens[0].at - log.created} ms; proxy ${JSON.stringify(counts)}`);
    assert.equal(log.opens[0].transport, "polling", JSON.stringify(log.opens));
    assert.ok(counts.http.stream >= 1, "a stream was tried");
    assert.equal((await statsOf(client)).transport, "polling");
    assert.match(Object.values(await page.evaluate(() => window.storedTransports())).join(), /^polling\|\d+$/, "polling remembered");

    const receipts = await page.evaluate(() => window.sendMany("b-", 10).map((receipt) => receipt.status));
    assert.ok(receipts.every((status) => status === "sent"), JSON.stringify(receipts));
    const texts = range("b-", 10);
    assert.deepEqual(await receivedAll(server, tag, texts), texts, "client → server once, in order");
    await until("the echoes", async () => (await logOf(client)).messages.length >= 10);
    await subscribedTimes(client, channel, 1);
    await publish(server, channel, [1, 2, 3]);
    await channelGot(client, channel, 3);
    await sleep(300);
    const final = await logOf(client);
    assert.deepEqual(final.messages, texts, "server → client: the echoes once, in order");
    assert.deepEqual(final.channel.map((entry) => entry.data), [1, 2, 3]);
    assert.equal(final.acks.length, 10);
    assert.deepEqual(transportsOf(final), ["polling"], "no reconnection");
    const stats = await serverStats(server, tag);
    console.log(`buffer: server stats ${JSON.stringify(stats)}`);
    assert.deepEqual(stats.httpSessions, { stream: 0, poll: 1 });
    assert.deepEqual(unexpectedErrors(final), []);
    assert.deepEqual(client.pageErrors, []);
  });
});

test("frames over SSE and polls as over the WebSocket: newlines, SSE-like text, empty, Unicode, JSON, binary", { timeout: 60_000 }, async () => {
  const proxy = await spawnProxy(server, { upgrades: "pass" });
  await inContext(async (context) => {
    const clients = {};
    for (const transport of ["websocket", "sse", "polling"]) {
      clients[transport] = await openClient(context, {
        url: proxy.wsUrl(`/ws?tag=frames-${transport}-${RUN}`), reconnect: RECONNECT, queue: { key: `frames-${transport}-${RUN}` }, transports: [transport],
      });
    }
    const echoes = {};
    for (const [transport, client] of Object.entries(clients)) {
      assert.deepEqual(transportsOf(await opened(client, 1)), [transport]);
      echoes[transport] = await client.page.evaluate(async () => {
        const got = [];
        window.tw.on("message", ({ data }) => got.push(typeof data === "string" ? data : [...new Uint8Array(data)]));
        const texts = ["multi\nline\n\nend\n", "data: x\n\nevent: close\ndata: {}", ":", "", "é😀\u2028", { json: [1, "two"] }];
        for (const text of texts) window.tw.send(text);
        window.tw.send(new Uint8Array([0, 1, 2, 255]).buffer);
        window.tw.send(new Uint8Array(0));
        const deadline = Date.now() + 10_000;
        while (got.length < texts.length + 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        return got;
      });
    }
    const expected = ["multi\nline\n\nend\n", "data: x\n\nevent: close\ndata: {}", ":", "", "é😀\u2028", '{"json":[1,"two"]}', [0, 1, 2, 255], []];
    for (const transport of ["websocket", "sse", "polling"]) {
      assert.deepEqual(echoes[transport], expected, `the echoes over ${transport}`);
      assert.deepEqual(unexpectedErrors(await logOf(clients[transport])), []);
    }
  });
});
