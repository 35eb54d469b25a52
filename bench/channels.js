// The channels benchmark page, run by bench/run-channels.mjs in a plain
// headless Chromium (no driver attached, which would slow every frame).
// A publisher and a subscriber, two TabWire clients of this page, so that
// publish and delivery are timed on one clock:
//
//   latency: LATENCY_N publishes, each waiting for the subscriber's listener
//     to receive it before the next (after WARM_UP untimed ones);
//   throughput: THROUGHPUT_N publishes back to back, timed from the first
//     publish() to the listener receiving the last; every offset must
//     arrive once, in order.
//
// Both through one server (channels in memory), then with the publisher on
// server A and the subscriber on server B, which share channels in Redis.
// Last, the baseline: LATENCY_N sequential round trips of a raw WebSocket
// (no subprotocol: the server echoes) to the one server.
// The page posts the raw times; the runner summarises them.

import init, { TabWire } from "/pkg/tabwire.js";

const query = new URLSearchParams(location.search);
const REPORT = query.get("report");
const RUN = query.get("run");
const LATENCY_N = 2_000;
const THROUGHPUT_N = 10_000;
const WARM_UP = 200;
const WAIT_MS = 30_000;
/** Pads each message to PAYLOAD_BYTES of JSON. */
const PAYLOAD_BYTES = 64;
const payload = (t) => {
  const pad = "x".repeat(PAYLOAD_BYTES - JSON.stringify({ t, pad: "" }).length);
  return { t, pad };
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const within = (promise, ms, what) =>
  Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`timed out after ${ms} ms: ${what}`)))]);

/** text/plain keeps the request simple (no CORS preflight). */
const post = (route, body) => fetch(`${REPORT}${route}`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify(body) });

function log(line) {
  document.getElementById("log").textContent += `${line}\n`;
  post("/log", { line }).catch(() => {});
}

const checks = [];
function check(name, ok, detail) {
  checks.push({ name, ok: Boolean(ok), detail: JSON.stringify(detail) });
}

/** Times WARM_UP + n calls of `roundTrip(seq)`, which resolves to the performance.now() of the arrival; keeps the last n. */
async function timed(n, roundTrip) {
  const times = [];
  for (let seq = 0; seq < WARM_UP + n; seq += 1) {
    const start = performance.now();
    const end = await roundTrip(seq);
    if (seq >= WARM_UP) times.push(end - start);
  }
  return times;
}

/** A solo client keeping its outbox in memory, large enough for the throughput burst; records what went wrong. */
function client(url, key, problems) {
  const tw = new TabWire({
    url,
    share: false,
    heartbeat: false,
    queue: { key, storage: "memory", maxMessages: 100_000, maxBytes: 50_000_000 },
  });
  for (const event of ["error", "subscribe_error", "gap", "warning"]) tw.on(event, (detail) => problems.push({ key, event, detail }));
  return tw;
}

/** Both workloads, the publisher connected to `pubUrl` and the subscriber to `subUrl`. */
async function channels(name, pubUrl, subUrl) {
  const problems = [];
  const slug = name.replace(/\W+/g, "-");
  const publisher = client(pubUrl, `${slug}-publisher`, problems);
  const subscriber = client(subUrl, `${slug}-subscriber`, problems);
  const latencyChannel = `bench:${RUN}:${slug}:latency`;
  const throughputChannel = `bench:${RUN}:${slug}:throughput`;
  let acks = 0;
  publisher.on("ack", () => {
    acks += 1;
  });
  const opened = new Promise((resolve) => publisher.on("open", resolve));
  const subscribed = new Set();
  const bothSubscribed = new Promise((resolve) =>
    subscriber.on("subscribed", ({ channel }) => {
      subscribed.add(channel);
      if (subscribed.size === 2) resolve();
    }));

  // Latency: the listener resolves the round trip that waits for its seq.
  let waiting = null;
  const strays = [];
  subscriber.subscribe(latencyChannel, ({ data }) => {
    const now = performance.now();
    if (waiting?.seq === data.t) waiting.resolve(now);
    else strays.push(data.t);
  });
  // Throughput: every offset and seq as it arrives, and when the last came.
  const arrived = [];
  let lastArrived;
  const allArrived = new Promise((resolve) => {
    lastArrived = resolve;
  });
  subscriber.subscribe(throughputChannel, ({ data, offset }) => {
    arrived.push([offset, data.t]);
    if (arrived.length === THROUGHPUT_N) lastArrived(performance.now());
  });
  await within(Promise.all([opened, bothSubscribed]), WAIT_MS, `${name}: the publisher's socket and both subscriptions`);

  log(`${name}: latency, ${LATENCY_N} sequential publishes`);
  const refused = [];
  const publish = (channel, seq) => {
    const receipt = publisher.publish(channel, payload(seq));
    if (receipt.status === "refused") refused.push(receipt);
  };
  const latency = await within(
    timed(LATENCY_N, (seq) => new Promise((resolve) => {
      waiting = { seq, resolve };
      publish(latencyChannel, seq);
    })),
    WAIT_MS,
    `${name}: ${LATENCY_N} publish → listener round trips`,
  );

  log(`${name}: throughput, ${THROUGHPUT_N} publishes back to back`);
  const start = performance.now();
  for (let seq = 0; seq < THROUGHPUT_N; seq += 1) publish(throughputChannel, seq);
  const publishedAt = performance.now();
  const end = await within(allArrived, WAIT_MS, `${name}: ${THROUGHPUT_N} messages at the listener (got ${arrived.length})`);
  const published = WARM_UP + LATENCY_N + THROUGHPUT_N;
  await within((async () => { while (acks < published) await sleep(10); })(), WAIT_MS, `${name}: ${published} acks (got ${acks})`);
  // Anything delivered after the last one would be a duplicate or a stray.
  await sleep(200);
  publisher.close();
  subscriber.close();
  publisher.free();
  subscriber.free();

  const outOfOrder = arrived.findIndex(([offset, seq], index) => offset !== index + 1 || seq !== index);
  check(`${name}: ${THROUGHPUT_N} messages arrived once each, offsets 1 to ${THROUGHPUT_N} in order`, arrived.length === THROUGHPUT_N && outOfOrder === -1, {
    received: arrived.length,
    firstWrong: arrived[outOfOrder],
  });
  check(`${name}: the latency listener got only the message it waited for`, strays.length === 0, strays.slice(0, 10));
  check(`${name}: every publish acknowledged, none refused`, acks === published && refused.length === 0, { acks, refused: refused.slice(0, 3) });
  check(`${name}: no error, gap or warning events`, problems.length === 0, problems.slice(0, 5));
  return { latencyMs: latency, throughput: { totalMs: end - start, publishCallsMs: publishedAt - start } };
}

/** Sequential round trips of a raw WebSocket (raw mode: the server echoes each text frame). */
async function rawEcho(url) {
  const socket = new WebSocket(url.replace(/\/ws(\?|$)/, "/raw$1"));
  await within(new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error("the raw WebSocket failed"));
  }), WAIT_MS, "the raw WebSocket to open");
  let echoed;
  socket.onmessage = () => echoed(performance.now());
  const times = await within(
    timed(LATENCY_N, (seq) => new Promise((resolve) => {
      echoed = resolve;
      socket.send(JSON.stringify(payload(seq)));
    })),
    WAIT_MS,
    `${LATENCY_N} raw echoes`,
  );
  socket.close();
  return times;
}

try {
  await init();
  const results = {
    oneServer: await channels("one server", query.get("one"), query.get("one")),
    twoServers: await channels("two servers + Redis", query.get("a"), query.get("b")),
  };
  log(`raw WebSocket: ${LATENCY_N} sequential echoes`);
  results.rawEchoMs = await rawEcho(query.get("one"));
  await post("/results", {
    userAgent: navigator.userAgent,
    timerResolution: crossOriginIsolated ? "5 µs" : "100 µs (page not cross-origin isolated)",
    counts: { latency: LATENCY_N, throughput: THROUGHPUT_N, warmUp: WARM_UP, payloadBytes: PAYLOAD_BYTES },
    results,
    checks,
  });
} catch (error) {
  log(`error: ${error?.stack ?? error}`);
  await post("/results", { error: String(error?.stack ?? error) });
}
