// The transports benchmark page, run by bench/run-transports.mjs in a plain
// headless Chromium (no driver attached, which would slow every frame),
// served cross-origin isolated (/isolated/) for 5 µs timers. Four set-ups,
// in this one page load:
//
//   raw WebSocket       the browser WebSocket to /raw (the server echoes)
//   tabwire websocket   TabWire with transports: ["websocket"]
//   tabwire sse         transports: ["sse"]: server-sent events read with
//                       fetch, sends as POSTs
//   tabwire polling     transports: ["polling"]: long polls, sends as POSTs
//
// The TabWire clients run with share: false, heartbeat: false and the
// outbox in memory (queue.storage: "memory"), so that what differs between
// them is the transport, not localStorage. The workloads, the set-ups
// taking turns within each so that a busy spell of the machine hits them
// all alike:
//
//   opens       a fresh client per set-up, from its constructor (or
//               new WebSocket) to its open event, CONFIG.opens times after
//               one untimed cold one; each client is closed before the next
//   echo        sequential round trips of a CONFIG.bytes text message: send
//               to the echo (tabwire: and to the ack, which comes after it);
//               and bare POSTs to an unknown session (404), what a send costs
//   throughput  CONFIG.throughput.count messages back to back, from the
//               first send() to the last ack (raw: the last echo)
//   channel     a second client (tabwire on "websocket") publishes to a
//               channel each TabWire set-up listens to, one message at a
//               time: publish() to the listener
//   resume      a polling subscriber closes and, CONFIG.resume publications
//               later, reconnects: it must get them all, from the history
//
// Every HTTP request the clients make is counted (fetch is wrapped before
// the package loads), per client and kind. Every workload checks what it
// received: the count, once each, in order, and no close or error.
// Query: ws (the server's /ws endpoint), run, config, report.

import init, { TabWire } from "/pkg/tabwire.js";

import { check, checks, control, log, post, sleep, within } from "./page.js";

const query = new URLSearchParams(location.search);
const WS = query.get("ws");
const ORIGIN = WS.replace(/^ws/, "http").replace(/\/ws$/, "");
const RUN = query.get("run");
const CONFIG = JSON.parse(query.get("config"));
const WAIT_MS = 60_000;

const now = () => performance.now();
const noop = () => {};
const slug = (name) => name.replace(/\W+/g, "-");
const withTag = (url, tag) => `${url}?tag=${encodeURIComponent(tag)}`;

const TRANSPORTS = { "tabwire websocket": "websocket", "tabwire sse": "sse", "tabwire polling": "polling" };
const ROWS = ["raw WebSocket", ...Object.keys(TRANSPORTS)];

// ---- The clients' HTTP requests ---------------------------------------------

/** Requests to /ws by tag and kind: `open stream`, `open poll`, `send`, `poll`, `close`. */
const requests = {};
const pageFetch = window.fetch;
window.fetch = (input, options) => {
  const url = typeof input === "string" ? input : String(input?.url ?? input);
  if (url.startsWith(`${ORIGIN}/ws?`)) {
    const params = new URL(url).searchParams;
    const kind = params.get("op") ?? `open ${params.get("transport")}`;
    const byKind = (requests[params.get("tag")] ??= {});
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  return pageFetch(input, options);
};
const requestsOf = (tag) => ({ ...requests[tag] });
/** The requests of `tag` since `before`. */
function requestsSince(tag, before) {
  const after = requestsOf(tag);
  return Object.fromEntries(Object.keys(after).map((kind) => [kind, after[kind] - (before[kind] ?? 0)]).filter(([, n]) => n));
}

// ---- Set-ups --------------------------------------------------------------

let letters = 0;
/** What every set-up gives the workloads: hooks they replace, and what happened. */
function hooks(name, tag) {
  return { name, tag, letter: String.fromCharCode(65 + (letters++ % 26)), sequence: 0, sink: noop, ackSink: noop, opens: [], closes: [], problems: [] };
}

function raw(tag) {
  const client = hooks("raw WebSocket", tag);
  const socket = new WebSocket(withTag(WS.replace(/\/ws$/, "/raw"), tag));
  client.opened = new Promise((resolve, reject) => {
    socket.onopen = () => {
      client.opens.push({ at: now(), transport: "websocket", protocol: "raw" });
      resolve();
    };
    socket.onerror = () => reject(new Error("the raw WebSocket failed"));
  });
  socket.onmessage = (event) => client.sink(event.data);
  socket.onclose = ({ code, reason }) => client.closes.push({ code, reason });
  client.send = (text) => socket.send(text);
  client.stop = () => {
    socket.onclose = null;
    socket.close();
  };
  return client;
}

function tabwire(name, tag) {
  const client = hooks(name, tag);
  const tw = new TabWire({
    url: withTag(WS, tag),
    transports: [TRANSPORTS[name]],
    share: false,
    heartbeat: false,
    queue: { key: tag, storage: "memory", maxMessages: 100_000, maxBytes: 50_000_000 },
  });
  client.tw = tw;
  client.opened = new Promise((resolve) => {
    tw.on("open", (detail) => {
      client.opens.push({ at: now(), ...detail });
      resolve();
    });
  });
  tw.on("message", ({ data }) => client.sink(data));
  tw.on("ack", ({ id }) => client.ackSink(id));
  tw.on("close", ({ code, reason }) => client.closes.push({ code, reason }));
  for (const event of ["error", "warning", "gap", "subscribe_error", "rejected", "expired"]) {
    tw.on(event, (detail) => client.problems.push({ event, detail }));
  }
  client.send = (text) => {
    const receipt = tw.send(text);
    if (receipt.status === "refused") client.problems.push({ event: "refused", detail: receipt });
    return receipt.id;
  };
  client.stop = () => {
    client.stopped = true;
    tw.close();
    tw.free();
  };
  return client;
}

const make = (row, tag) => (row === "raw WebSocket" ? raw(tag) : tabwire(row, tag));

// ---- Opens ------------------------------------------------------------------

/** CONFIG.opens fresh clients per set-up after a cold one: constructor to open, ms. */
async function opens() {
  log(`opens: ${CONFIG.opens} fresh clients per set-up, after a cold one`);
  const figures = Object.fromEntries(ROWS.map((row) => [row, { coldMs: null, ms: [] }]));
  const tags = [];
  const wrong = [];
  for (let round = 0; round <= CONFIG.opens; round += 1) {
    for (const row of ROWS) {
      const tag = `${RUN}-open-${round}-${slug(row)}`;
      const start = now();
      const client = make(row, tag);
      await within(client.opened, WAIT_MS, `${row}: open`);
      const [{ at, transport }] = client.opens;
      if (transport !== (TRANSPORTS[row] ?? "websocket")) wrong.push({ row, transport });
      if (round === 0) figures[row].coldMs = at - start;
      else figures[row].ms.push(at - start);
      client.stop();
      tags.push(tag);
      await sleep(CONFIG.pauseMs);
    }
  }
  check("opens: every open event names the forced transport", wrong.length === 0, wrong);
  // Closed clients leave no session or connection behind on the server.
  await sleep(500);
  const left = [];
  for (const tag of tags) {
    const { connections, httpSessions } = await control(ORIGIN, "stats", { tag });
    if (connections !== 0) left.push({ tag, connections, httpSessions });
  }
  check("opens: every closed client's connection or session ended on the server", left.length === 0, left);
  return figures;
}

// ---- Echo round trips -----------------------------------------------------

const FILLER = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(8);
/** Message `seq` of `letter`'s client: distinct, CONFIG.bytes long, never starting with `{`. */
const text = (letter, seq) => `${letter}${String(seq).padStart(8, "0")}${FILLER}`.slice(0, CONFIG.bytes);

/** `count` sequential round trips: ms from send() to the echo and, for tabwire, to the ack. */
function echoes(client, count) {
  const echoMs = [];
  const ackMs = [];
  let wrong = 0;
  return within(new Promise((resolve) => {
    let expected;
    let id;
    let sentAt;
    let echoAt;
    let ackAt;
    const next = () => {
      if (echoMs.length === count) {
        client.sink = client.ackSink = noop;
        resolve({ echoMs, ackMs, wrong });
        return;
      }
      expected = text(client.letter, client.sequence++);
      echoAt = ackAt = null;
      sentAt = now();
      id = client.send(expected);
    };
    const settle = () => {
      if (echoAt === null || (client.tw && ackAt === null)) return;
      echoMs.push(echoAt - sentAt);
      if (client.tw) ackMs.push(ackAt - sentAt);
      next();
    };
    client.sink = (data) => {
      const at = now();
      if (data !== expected || echoAt !== null) wrong += 1;
      else {
        echoAt = at;
        settle();
      }
    };
    client.ackSink = (ackId) => {
      const at = now();
      if (ackId !== id || ackAt !== null) wrong += 1;
      else {
        ackAt = at;
        settle();
      }
    };
    next();
  }), WAIT_MS, `${client.name}: ${count} echoes`);
}

/**
 * `count` sequential bare POSTs of one frame to a session that does not
 * exist (answered 404 at once): what an HTTP send costs by itself; ms to
 * the whole answer.
 */
async function barePosts(count) {
  const url = `${ORIGIN}/ws?tag=${RUN}-bare&session=none&op=send`;
  const times = [];
  let wrong = 0;
  for (let n = 0; n < count; n += 1) {
    const start = now();
    const response = await pageFetch(url, { method: "POST", headers: { "content-type": "text/plain;charset=UTF-8" }, body: text("#", n) });
    await response.text();
    times.push(now() - start);
    if (response.status !== 404) wrong += 1;
  }
  return { times, wrong };
}

const BARE_POST = "bare fetch POST (404)";

async function roundTrips(clients) {
  const { count, warmUp, rounds } = CONFIG.echo;
  log(`echo: ${count} sequential round trips of ${CONFIG.bytes} B per set-up (after ${warmUp}), in ${rounds} rounds; and as many bare POSTs`);
  for (const client of clients) await echoes(client, warmUp);
  await barePosts(warmUp);
  const figures = Object.fromEntries(clients.map((client) => [client.name, { echoMs: [], ackMs: [], wrong: 0 }]));
  figures[BARE_POST] = { echoMs: [], ackMs: [], wrong: 0, requests: {} };
  const before = clients.map((client) => requestsOf(client.tag));
  for (let round = 0; round < rounds; round += 1) {
    const bare = await barePosts(count / rounds);
    figures[BARE_POST].echoMs.push(...bare.times);
    figures[BARE_POST].wrong += bare.wrong;
    for (const client of clients) {
      const result = await echoes(client, count / rounds);
      const figure = figures[client.name];
      figure.echoMs.push(...result.echoMs);
      figure.ackMs.push(...result.ackMs);
      figure.wrong += result.wrong;
    }
  }
  clients.forEach((client, index) => {
    figures[client.name].requests = requestsSince(client.tag, before[index]);
    const { echoMs, wrong } = figures[client.name];
    check(`echo: ${client.name}: every echo${client.tw ? " and ack" : ""} once, in order`, echoMs.length === count && wrong === 0, { received: echoMs.length, wrong });
  });
  check(`echo: every ${BARE_POST} answered 404`, figures[BARE_POST].wrong === 0, figures[BARE_POST].wrong);
  return figures;
}

// ---- Throughput -----------------------------------------------------------

/** `count` messages back to back; ms from the first send() to the last ack (raw: echo). */
async function burst(client, count) {
  const first = client.sequence;
  client.sequence += count;
  const before = requestsOf(client.tag);
  const closes = client.closes.length;
  const ids = [];
  let echoed = 0;
  let acked = 0;
  let outOfOrder = 0;
  let last = 0; // the last echo or ack
  const done = new Promise((resolve) => {
    const finish = () => {
      if (echoed >= count && (!client.tw || acked >= count)) resolve();
    };
    client.sink = (data) => {
      if (data !== text(client.letter, first + echoed)) outOfOrder += 1;
      echoed += 1;
      last = now();
      finish();
    };
    client.ackSink = (id) => {
      if (id !== ids[acked]) outOfOrder += 1;
      acked += 1;
      last = now();
      finish();
    };
  });
  const start = now();
  for (let seq = first; seq < first + count; seq += 1) ids.push(client.send(text(client.letter, seq)));
  const sendCallsMs = now() - start;
  await within(done, WAIT_MS, `${client.name}: ${count} back to back`).catch((error) => {
    const seen = { echoed, acked, closes: client.closes.slice(closes, closes + 5), problems: client.problems.slice(0, 5), requests: requestsSince(client.tag, before) };
    throw new Error(`${error.message}: ${JSON.stringify(seen)}`);
  });
  const totalMs = last - start;
  // A duplicate would come after the last one.
  await sleep(CONFIG.pauseMs);
  client.sink = client.ackSink = noop;
  const queued = client.tw?.stats().queued ?? 0;
  return { totalMs, sendCallsMs, echoed, acked: client.tw ? acked : null, outOfOrder, queued, closes: client.closes.slice(closes), requests: requestsSince(client.tag, before) };
}

async function throughput(clients) {
  const { count, reps } = CONFIG.throughput;
  log(`throughput: ${count} messages back to back per set-up, ${reps} runs each (after a warm-up of ${count / 10})`);
  for (const client of clients) await burst(client, count / 10);
  const figures = Object.fromEntries(clients.map((client) => [client.name, []]));
  for (let rep = 0; rep < reps; rep += 1) {
    for (const client of clients) figures[client.name].push(await burst(client, count));
  }
  for (const client of clients) {
    const bad = figures[client.name].filter((run) => run.echoed !== count || (client.tw && run.acked !== count) || run.outOfOrder || run.queued || run.closes.length);
    check(`throughput: ${client.name}: every message echoed${client.tw ? " and acknowledged" : ""} once, in order, no close${client.tw ? ", nothing left queued" : ""}`, bad.length === 0, bad.map(({ echoed, acked, outOfOrder, queued, closes }) => ({ echoed, acked, outOfOrder, queued, closes })));
  }
  return figures;
}

// ---- Channel delivery -----------------------------------------------------

/** Resolves when the server has taken `client`'s subscription to `channel`. */
const subscribedTo = (client, channel) => new Promise((resolve) => {
  client.tw.on("subscribed", (detail) => detail.channel === channel && resolve());
});

/** A publisher on "websocket" publishes to each subscriber's channel, one message at a time: publish() to the listener, ms. */
async function channelLatency(publisher, subscribers) {
  const { count, warmUp, rounds } = CONFIG.channel;
  log(`channel: ${count} sequential publishes to each TabWire set-up (after ${warmUp}), in ${rounds} rounds`);
  const refused = [];
  const strays = {};
  const subscribed = subscribers.map((client) => {
    client.channel = `bench:${RUN}:${client.tag}`;
    strays[client.name] = [];
    const done = subscribedTo(client, client.channel);
    client.tw.subscribe(client.channel, ({ data }) => {
      const at = now();
      if (client.waiting?.seq === data.t) client.waiting.resolve(at);
      else strays[client.name].push(data.t);
    });
    return done;
  });
  await within(Promise.all(subscribed), WAIT_MS, "the subscriptions");
  const pad = FILLER.slice(0, Math.max(0, CONFIG.bytes - 20));
  let seq = 0;
  const once = async (client) => {
    const arrived = new Promise((resolve) => {
      client.waiting = { seq, resolve };
    });
    const start = now();
    const receipt = publisher.tw.publish(client.channel, { t: seq, pad });
    if (receipt.status === "refused") refused.push(receipt);
    seq += 1;
    return (await within(arrived, WAIT_MS, `${client.name}: a publication`)) - start;
  };
  for (const client of subscribers) for (let n = 0; n < warmUp; n += 1) await once(client);
  const figures = Object.fromEntries(subscribers.map((client) => [client.name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const client of subscribers) for (let n = 0; n < count / rounds; n += 1) figures[client.name].push(await once(client));
  }
  await sleep(CONFIG.pauseMs);
  for (const client of subscribers) {
    check(`channel: ${client.name}: the listener got only the publication it waited for`, strays[client.name].length === 0, strays[client.name].slice(0, 10));
  }
  check("channel: no publication refused, no problem at the publisher", refused.length === 0 && publisher.problems.length === 0, { refused, problems: publisher.problems });
  return figures;
}

/**
 * A polling subscriber takes one publication and closes; once CONFIG.resume
 * more are acknowledged to the publisher (the server's history keeps 1,000),
 * it reconnects: it must get every one, once, in order, with no gap.
 */
async function pollingResume(publisher) {
  const count = CONFIG.resume;
  log(`resume: a polling subscriber reconnects after ${count} publications`);
  const client = tabwire("tabwire polling", `${RUN}-resume`);
  const channel = `bench:${RUN}:resume`;
  const got = [];
  let wake = noop;
  /** Resolves once `test()` holds, tried now and at every event. */
  const until = (test, what) => within(new Promise((resolve) => {
    wake = () => test() && resolve();
    wake();
  }), WAIT_MS, what);
  client.tw.subscribe(channel, ({ data, offset }) => {
    got.push({ t: data.t, offset });
    wake();
  });
  await within(subscribedTo(client, channel), WAIT_MS, "resume: the subscription");
  publisher.tw.publish(channel, { t: -1 });
  await until(() => got.length === 1, "resume: the first publication");
  client.tw.close();
  const unacked = new Set();
  publisher.ackSink = (id) => unacked.delete(id) && wake();
  for (let t = 0; t < count; t += 1) unacked.add(publisher.tw.publish(channel, { t }).id);
  await until(() => unacked.size === 0, "resume: the publisher's acks");
  publisher.ackSink = noop;
  const [closes, before, start] = [client.closes.length, requestsOf(client.tag), now()];
  client.tw.reconnect();
  await until(() => got.length > count, "resume: the missed publications");
  const ms = now() - start;
  await sleep(CONFIG.pauseMs);
  const wrong = got.slice(1).filter(({ t, offset }, n) => t !== n || offset !== got[0].offset + 1 + n);
  const after = { received: got.length - 1, wrong: wrong.slice(0, 5), opens: client.opens.map(({ transport }) => transport), closes: client.closes.slice(closes), problems: client.problems.slice(0, 5) };
  const ok = after.received === count && !wrong.length && after.opens.join() === "polling,polling" && !after.closes.length && !client.problems.length;
  check(`resume: a polling subscriber reconnecting (on polling) gets the ${count} publications it missed, once, in order, no gap, no close`, ok, after);
  const requests = requestsSince(client.tag, before);
  client.stop();
  return { count, ms, ...after, requests };
}

// ---- Main -----------------------------------------------------------------

/** What each client and the server say carries it. */
async function modes(clients) {
  const result = {};
  for (const client of clients) {
    const stats = client.tw?.stats();
    const server = await control(ORIGIN, "stats", { tag: client.tag });
    result[client.name] = {
      open: client.opens[0],
      stats: stats && { transport: stats.transport, protocol: stats.protocol },
      server: { connections: server.connections, protocolConnections: server.protocolConnections, httpSessions: server.httpSessions },
    };
  }
  return result;
}

function checkModes(found) {
  const wrong = Object.entries(found).filter(([name, { open, stats, server }]) => {
    const transport = TRANSPORTS[name];
    if (!transport) return open.transport !== "websocket" || server.connections !== 1 || server.protocolConnections !== 0;
    const sessions = server.httpSessions ?? {};
    return (
      open.transport !== transport ||
      stats.transport !== transport ||
      open.protocol !== "tabwire.v1" ||
      server.connections !== 1 ||
      server.protocolConnections !== 1 ||
      (sessions.stream ?? 0) !== (transport === "sse" ? 1 : 0) ||
      (sessions.poll ?? 0) !== (transport === "polling" ? 1 : 0)
    );
  });
  return wrong.map(([name, found]) => ({ name, ...found }));
}

try {
  localStorage.clear();
  await init();
  const timerResolution = crossOriginIsolated ? "5 µs (cross-origin isolated)" : "100 µs (not cross-origin isolated)";
  log(`timer resolution ${timerResolution}`);
  const started = now();
  const results = { opens: await opens() };
  const clients = ROWS.map((row) => make(row, `${RUN}-${slug(row)}`));
  await within(Promise.all(clients.map((client) => client.opened)), WAIT_MS, "the clients to open");
  results.modes = await modes(clients);
  const wrongModes = checkModes(results.modes);
  check("each set-up on its transport and mode (open event, stats(), the server's stats: one connection, its HTTP session)", wrongModes.length === 0, wrongModes);
  results.echo = await roundTrips(clients);
  results.throughput = await throughput(clients);
  const publisher = tabwire("tabwire websocket", `${RUN}-publisher`);
  await within(publisher.opened, WAIT_MS, "the publisher's open");
  results.channel = await channelLatency(publisher, clients.filter((client) => client.tw));
  results.resume = await pollingResume(publisher);
  publisher.stop();
  const after = await modes(clients);
  const troubled = clients.filter((client) => client.closes.length || client.problems.length || client.opens.length !== 1);
  check("no set-up closed, reopened or reported an error, warning or refusal", troubled.length === 0, troubled.map(({ name, closes, problems, opens: opened }) => ({ name, closes, problems: problems.slice(0, 5), opens: opened.length })));
  check("still one connection per set-up on the server at the end", checkModes(after).length === 0, checkModes(after));
  for (const client of clients) client.stop();
  results.pageSeconds = (now() - started) / 1000;
  await post("/results", { userAgent: navigator.userAgent, crossOriginIsolated, timerResolution, config: CONFIG, results, checks });
} catch (error) {
  log(`error: ${error?.stack ?? error}`);
  await post("/results", { error: String(error?.stack ?? error), checks });
}
