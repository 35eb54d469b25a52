// End-to-end tests of the HTTP transport in headless Chromium, part 2 (see
// http-transport.test.mjs): a server that is down is no reason to fall
// back; a reload after a fall back starts on HTTP at once; three tabs share
// one HTTP session, and a tab that joins it knows its transport; the
// `transports` option; the token never in a URL.
//
//   node --test tests/e2e/http-transport-2.test.mjs

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { control, freePort, sleep } from "./helpers.mjs";
import {
  channelGot,
  inContext,
  logOf,
  openClient,
  opened,
  publish,
  RECONNECT,
  range,
  receivedAll,
  reloadClient,
  RUN,
  serverStats,
  spawnProxy,
  spawnServer,
  startAll,
  statsOf,
  stopAll,
  subscribedTimes,
  transportsOf,
  unexpectedErrors,
  until,
  WAIT_MS,
} from "./http-transport-helpers.mjs";

let server;

before(async () => {
  await startAll();
  server = await spawnServer();
}, { timeout: 60_000 });

after(stopAll, { timeout: 30_000 });

const isStream = (url) => new URL(url).searchParams.get("transport") === "stream";

test("the server down is no reason to fall back: HTTP tried and failing, nothing remembered; back on the WebSocket when it returns", { timeout: 60_000 }, async () => {
  const port = await freePort();
  const tag = `down-${RUN}`;
  await inContext(async (context) => {
    // The default namespace: the URL without its query.
    const options = { url: `ws://127.0.0.1:${port}/ws?tag=${tag}`, reconnect: RECONNECT };
    const client = await openClient(context, options);
    const { page, net } = client;
    // Two rounds of three WebSocket attempts and an HTTP trial, all failing.
    await until("two failed HTTP trials", async () => net.failed.filter((r) => isStream(r.url)).length >= 2, WAIT_MS);
    let log = await logOf(client);
    assert.deepEqual(log.opens, [], "never opened");
    assert.deepEqual(await page.evaluate(() => window.storedTransports()), {}, "no transport remembered");
    assert.equal((await statsOf(client)).transport, undefined);
    assert.ok(net.websockets.length >= 6, `WebSocket attempts go on: ${net.websockets.length}`);
    const trial = net.requests.find((r) => isStream(r.url));
    assert.equal(trial.url, `http://127.0.0.1:${port}/ws?tag=${tag}&transport=stream`, "the HTTP form of the URL");

    // The server comes back just after an HTTP trial failed: the next attempts are WebSockets.
    const failed = net.failed.filter((r) => isStream(r.url)).length;
    await until("another failed HTTP trial", async () => net.failed.filter((r) => isStream(r.url)).length > failed, WAIT_MS, 10);
    const back = await spawnServer({ port });
    log = await opened(client, 1);
    console.log(`down: ${net.websockets.length} WebSocket attempts, ${net.requests.filter((r) => isStream(r.url)).length} HTTP trials; opens ${JSON.stringify(transportsOf(log))}`);
    assert.deepEqual(transportsOf(log), ["websocket"]);
    assert.equal((await statsOf(client)).transport, "websocket");
    assert.deepEqual(await page.evaluate(() => window.storedTransports()), {}, "still nothing remembered");
    await page.evaluate(() => window.tw.send("back"));
    assert.deepEqual(await receivedAll(back, tag, ["back"]), ["back"]);
    assert.deepEqual(client.pageErrors, []);
  });
});

test("a reload after falling back starts on HTTP at once, without a WebSocket attempt", { timeout: 60_000 }, async () => {
  const tag = `reload-${RUN}`;
  const proxy = await spawnProxy(server, { upgrades: "refuse" });
  await inContext(async (context) => {
    // The default namespace, whose key names the transport.
    const options = { url: proxy.wsUrl(`/ws?tag=${tag}`), reconnect: RECONNECT };
    const client = await openClient(context, options);
    const { page, net } = client;
    assert.equal((await opened(client, 1)).opens[0].transport, "sse");
    const key = `tabwire:ws://127.0.0.1:${proxy.port}/ws:transport`;
    // Kept once the probe made at once failed.
    await until("the fall back kept", async () => key in (await page.evaluate(() => window.storedTransports())));
    const stored = await page.evaluate(() => window.storedTransports());
    assert.deepEqual(Object.keys(stored), [key], JSON.stringify(stored));
    const [name, until_] = stored[key].split("|");
    assert.equal(name, "sse");
    const hour = Number(until_) - Date.now();
    assert.ok(hour > 3_500_000 && hour <= 3_600_000, `kept for an hour: ${hour} ms`);

    proxy.reset();
    const socketsBefore = net.websockets.length;
    await reloadClient(client, options);
    const log = await opened(client, 1, 5000);
    const upgrades = proxy.counts().upgrades.total;
    const openMs = log.opens[0].at - log.created;
    console.log(`reload: first open ${log.opens[0].transport} after ${openMs} ms; proxy ${JSON.stringify(proxy.counts())}`);
    assert.equal(log.opens[0].transport, "sse", "the first open is on HTTP");
    assert.equal(upgrades, 0, "no WebSocket attempt reached the proxy");
    assert.equal(net.websockets.length, socketsBefore, "the page opened no WebSocket");
    assert.ok(openMs < 3000, `at once (${openMs} ms)`);
    await page.evaluate(() => window.sendMany("after-reload-", 3));
    assert.deepEqual(await receivedAll(server, tag, range("after-reload-", 3)), range("after-reload-", 3));
    assert.deepEqual(unexpectedErrors(await logOf(client)), []);
    assert.deepEqual(client.pageErrors, []);
  });
});

test("three tabs behind a proxy that refuses upgrades share one HTTP session", { timeout: 60_000 }, async () => {
  const tag = `tabs-${RUN}`;
  const channel = `tabs:${RUN}`;
  const proxy = await spawnProxy(server, { upgrades: "refuse" });
  await inContext(async (context) => {
    const options = { url: proxy.wsUrl(`/ws?tag=${tag}`), reconnect: RECONNECT };
    const tabs = [];
    for (let i = 0; i < 3; i += 1) tabs.push(await openClient(context, options, { channels: [channel] }));
    // Tabs that joined after the leader opened hear no `open` (see the next test): wait for the state.
    await until("every tab open", async () => {
      const stats = await Promise.all(tabs.map(statsOf));
      return stats.every((s) => s.state === "open") && stats;
    }, 20_000);
    const stats = await Promise.all(tabs.map(statsOf));
    const roles = stats.map((s) => s.role).sort();
    assert.deepEqual(roles, ["follower", "follower", "leader"], JSON.stringify(stats));
    assert.equal(stats.find((s) => s.role === "leader").transport, "sse");
    // Each tab's channels reached the leader before it saw the state open
    // (the leader's answer to its hello); a tab that joins a channel the
    // leader already took hears no `subscribed`.
    await subscribedTimes(tabs[stats.findIndex((s) => s.role === "leader")], channel, 1);
    const server_ = await serverStats(server, tag);
    console.log(`tabs: server stats ${JSON.stringify(server_)}; proxy ${JSON.stringify(proxy.counts())}`);
    assert.equal(server_.connections, 1, "one session for the three tabs");
    assert.deepEqual(server_.httpSessions, { stream: 1, poll: 0 });
    assert.equal(proxy.counts().http.stream, 1, "one stream opened");

    await publish(server, channel, [1, 2, 3, 4, 5]);
    for (const tab of tabs) {
      const got = await channelGot(tab, channel, 5);
      assert.deepEqual(got.map((e) => e.data), [1, 2, 3, 4, 5]);
    }
    const follower = tabs[stats.findIndex((s) => s.role === "follower")];
    await follower.page.evaluate(() => window.sendMany("f-", 5));
    const texts = range("f-", 5);
    assert.deepEqual(await receivedAll(server, tag, texts), texts, "a follower's sends once, in order");
    await until("the follower's acks", async () => (await logOf(follower)).acks.length >= 5);
    await sleep(300);
    for (const tab of tabs) {
      const log = await logOf(tab);
      assert.equal(log.channel.length, 5, "nothing more");
      assert.ok(log.opens.length <= 1 && transportsOf(log).every((t) => t === "sse"), `one open at most, on SSE: ${JSON.stringify(log.opens)}`);
      assert.deepEqual(unexpectedErrors(log), []);
      assert.deepEqual(tab.pageErrors, []);
    }
    assert.equal((await logOf(follower)).acks.length, 5);
    assert.equal((await serverStats(server, tag)).connections, 1);
  });
});

test("a tab that joins a connection already open on HTTP knows its transport", { timeout: 60_000 }, async () => {
  const tag = `late-${RUN}`;
  const proxy = await spawnProxy(server, { upgrades: "refuse" });
  await inContext(async (context) => {
    const options = { url: proxy.wsUrl(`/ws?tag=${tag}`), reconnect: RECONNECT };
    const leader = await openClient(context, options);
    assert.equal((await opened(leader, 1)).opens[0].transport, "sse");
    const late = await openClient(context, options);
    const stats = await until("the late tab open", async () => {
      const stats = await statsOf(late);
      return stats.state === "open" && stats;
    });
    await sleep(500);
    const lateLog = await logOf(late);
    console.log(`late: leader ${JSON.stringify(await statsOf(leader))}; late tab ${JSON.stringify(await statsOf(late))}, ` +
      `states ${JSON.stringify(lateLog.states)}, opens ${JSON.stringify(lateLog.opens)}`);
    assert.equal(stats.role, "follower");
    // README: stats().transport and .protocol are "absent while none is open"; this tab's connection is open.
    assert.deepEqual({ protocol: stats.protocol, transport: stats.transport }, { protocol: "tabwire.v1", transport: "sse" },
      "a follower that joined an open connection: stats() names its protocol and transport");
  });
});

test("the transports option: polling forced, websocket only never falls back, a bad list is refused", { timeout: 60_000 }, async () => {
  const tag = `option-${RUN}`;
  const passing = await spawnProxy(server, { upgrades: "pass" });
  const refusing = await spawnProxy(server, { upgrades: "refuse" });
  await inContext(async (context) => {
    const polling = await openClient(context, {
      url: passing.wsUrl(`/ws?tag=${tag}-p`), reconnect: RECONNECT, queue: { key: `${tag}-p` }, transports: ["polling"],
    });
    const wsOnly = await openClient(context, {
      url: refusing.wsUrl(`/ws?tag=${tag}-w`), reconnect: RECONNECT, queue: { key: `${tag}-w` }, transports: ["websocket"],
    });
    const log = await opened(polling, 1);
    assert.deepEqual(transportsOf(log), ["polling"], "polling at once, though WebSockets pass");
    await polling.page.evaluate(() => window.sendMany("p-", 3));
    assert.deepEqual(await receivedAll(server, `${tag}-p`, range("p-", 3)), range("p-", 3));
    // Past the first probe's time: no probe where the WebSocket is not allowed.
    await sleep(Math.max(0, log.opens[0].at + 6500 - Date.now()));
    assert.equal(passing.counts().upgrades.total, 0, "no WebSocket at all, not even a probe");
    assert.equal(polling.net.websockets.length, 0);
    assert.deepEqual(transportsOf(await logOf(polling)), ["polling"]);
    assert.equal((await statsOf(polling)).transport, "polling");

    // Meanwhile, the WebSocket-only client kept trying, on WebSockets only.
    const counts = refusing.counts();
    console.log(`option: websocket-only after ${Date.now() - (await logOf(wsOnly)).created} ms: proxy ${JSON.stringify(counts)}`);
    assert.deepEqual((await logOf(wsOnly)).opens, [], "never opened");
    assert.ok(counts.upgrades.refused >= 6, `kept trying: ${counts.upgrades.refused}`);
    assert.equal(counts.http.total, 0, "no HTTP request");
    assert.equal(wsOnly.net.requests.length, 0);
    refusing.set({ upgrades: "pass" });
    assert.deepEqual(transportsOf(await opened(wsOnly, 1)), ["websocket"]);

    // Bad lists, each with a message that names the option.
    const messages = await polling.page.evaluate(async (url) => {
      const { TabWire } = await import("/pkg/tabwire.js");
      const cases = [[], ["websocket", "websocket"], ["carrier-pigeon"], "sse", 42, [1]];
      const out = cases.map((transports) => {
        try {
          new TabWire({ url, transports, autoConnect: false }).close();
          return null;
        } catch (error) {
          return String(error.message);
        }
      });
      try {
        new TabWire({ url, protocol: "raw", transports: ["websocket", "sse"], autoConnect: false }).close();
        out.push(null);
      } catch (error) {
        out.push(String(error.message));
      }
      return out;
    }, passing.wsUrl("/ws"));
    assert.deepEqual(messages, [
      "tabwire: transports is empty",
      'tabwire: transports lists "websocket" twice',
      'tabwire: transports[0] must be "websocket", "sse" or "polling", not "carrier-pigeon"',
      'tabwire: transports must be an array of transports, not "sse"',
      "tabwire: transports must be an array of transports, not 42",
      'tabwire: transports[0] must be "websocket", "sse" or "polling", not 1',
      'tabwire: transports names an HTTP transport, which carries the tabwire protocol only (protocol is "raw")',
    ], "each refused with a message that names the option and the rule");
  });
});

test("auth over HTTP: the token travels in the auth frame, never in a URL", { timeout: 60_000 }, async () => {
  const secret = `secret-${RUN}`;
  const tag = `auth-${RUN}`;
  const channel = `auth:${RUN}`;
  const authServer = await spawnServer({ args: ["--jwt-secret", secret] });
  const proxy = await spawnProxy(authServer, { upgrades: "refuse" });
  const { token } = await control(authServer.origin, "token", { channels: channel, publish: channel, sub: `alice-${RUN}` });
  await inContext(async (context) => {
    const base = { url: proxy.wsUrl(`/ws?tag=${tag}`), reconnect: RECONNECT, token };
    const sse = await openClient(context, { ...base, queue: { key: `${tag}-s` } }, { channels: [channel] });
    const poll = await openClient(context, { ...base, queue: { key: `${tag}-p` }, transports: ["polling"] }, { channels: [channel] });
    const bad = await openClient(context, { ...base, queue: { key: `${tag}-b` }, transports: ["polling"], token: "not.a.token" });
    assert.equal((await opened(sse, 1)).opens[0].transport, "sse");
    assert.equal((await opened(poll, 1)).opens[0].transport, "polling");
    await subscribedTimes(sse, channel, 1);
    await subscribedTimes(poll, channel, 1);
    await sse.page.evaluate(() => window.sendMany("s-", 3));
    await poll.page.evaluate(() => window.sendMany("p-", 3));
    const texts = [...range("s-", 3), ...range("p-", 3)];
    const frames = await receivedAll(authServer, tag, texts);
    assert.deepEqual(frames.filter((f) => f.startsWith("s-")), range("s-", 3));
    assert.deepEqual(frames.filter((f) => f.startsWith("p-")), range("p-", 3));
    await publish(authServer, channel, [1, 2]);
    assert.deepEqual((await channelGot(sse, channel, 2)).map((e) => e.data), [1, 2]);
    assert.deepEqual((await channelGot(poll, channel, 2)).map((e) => e.data), [1, 2]);

    // A bad token is refused over HTTP as on the socket.
    const badLog = await until("the bad token's 4401", async () => {
      const log = await logOf(bad);
      return log.closes.some((close) => close.code === 4401) ? log : null;
    });
    const urls = proxy.urls();
    console.log(`auth: ${urls.length} URLs seen, e.g. ${JSON.stringify(urls.slice(0, 6))}; bad token closes ${JSON.stringify(badLog.closes.slice(0, 2))}`);
    const signature = token.split(".")[2];
    assert.ok(urls.length > 10, "the proxy saw the HTTP requests");
    assert.deepEqual(urls.filter((url) => url.includes(signature) || url.includes(token.slice(0, 20))), [], "no URL holds the token");
    assert.deepEqual(urls.filter((url) => /token|not\.a/i.test(url)), [], "nor any token parameter");
    assert.deepEqual([...sse.net.requests, ...poll.net.requests].filter((r) => r.url.includes(signature)), []);
    for (const client of [sse, poll]) {
      assert.deepEqual(unexpectedErrors(await logOf(client)), []);
      assert.deepEqual(client.pageErrors, []);
    }
  });
});
