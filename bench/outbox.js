// The outbox benchmark page, driven by bench/run-outbox.mjs (see
// bench/docs/outbox.md). It runs in two page loads:
//
//   phase "enqueue" (first load): the localStorage floor, then 10,000 send()s
//     to a client that never connects, which stores them all;
//   phase "restore" (after a reload): the constructor reads the 10,000 back,
//     reconnect() delivers them until the last ack, then a raw WebSocket
//     sends the same 10,000 messages for comparison.
//
// Query: ws (the WebSocket endpoint, e.g. ws://127.0.0.1:PORT/ws), report
// (origin of the runner's results server), phase (set by the page).

import init, { TabWire } from "/pkg/tabwire.js";

/** Messages per measurement: 10,000 unless the query says `n=`. */
const N = Number(new URLSearchParams(location.search).get("n") ?? 10_000);
const MESSAGE_LENGTH = 64;
const KEY = "bench";
const PREFIX = `tabwire:${KEY}:ob:`;
/** Keys of the localStorage floor: the same length as tabwire's keys. */
const FLOOR_PREFIX = "tabwire:floor:ob:";
const QUEUE = { key: KEY, storage: "local", maxMessages: Math.max(20_000, 2 * N), maxBytes: 10_000_000 };
/** One tab on its own: the storage path of a solo client (a shared one restores the same way when it takes the lead). */
const SHARE = false;
const WAIT_MS = 60_000;
const SESSION_KEY = "tabwire-bench:enqueue";

const query = new URLSearchParams(location.search);
const WS = query.get("ws");
const REPORT = query.get("report");
const PHASE = query.get("phase") ?? "enqueue";
const CONTROL = WS.replace(/^ws/, "http").replace(/\/ws$/, "");

/** `m00042-` padded with x to 64 characters: distinct, and easy to check. */
const messageOf = (index) => `m${String(index).padStart(5, "0")}-`.padEnd(MESSAGE_LENGTH, "x");
const messages = Array.from({ length: N }, (_, index) => messageOf(index));

function log(line) {
  document.getElementById("log").textContent += `${line}\n`;
  post("/log", { line }).catch(() => {});
}

/** text/plain keeps the request simple (no CORS preflight). */
async function post(route, body) {
  await fetch(`${REPORT}${route}`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: JSON.stringify(body),
  });
}

async function control(route, params = {}) {
  const url = new URL(`/control/${route}`, CONTROL);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
  const response = await fetch(url, { method: "POST" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function keysUnder(prefix) {
  const keys = [];
  for (let index = 0; index < localStorage.length; index += 1) {
    const key = localStorage.key(index);
    if (key !== null && key.startsWith(prefix)) keys.push(key);
  }
  return keys;
}

function clearUnder(prefix) {
  const keys = keysUnder(prefix);
  for (const key of keys) localStorage.removeItem(key);
  return keys.length;
}

const checks = [];
function check(name, ok, detail = "") {
  checks.push({ name, ok: Boolean(ok), detail: String(detail) });
  if (!ok) log(`CHECK FAILED: ${name} ${detail}`);
}

const round = (value, digits = 2) => Number(value.toFixed(digits));

async function enqueuePhase() {
  const cleared = clearUnder(PREFIX) + clearUnder(FLOOR_PREFIX);
  if (cleared > 0) log(`cleared ${cleared} leftover keys`);

  // The floor: the same values under distinct keys of tabwire's length.
  const floorKeys = messages.map((_, index) => `${FLOOR_PREFIX}1700000000000-floor000-${String(index).padStart(8, "0")}`);
  // Warm-up: the first access loads the origin's storage area, and the loops
  // get compiled; neither belongs to the per-operation cost.
  for (let index = 0; index < 1000; index += 1) localStorage.setItem(`${FLOOR_PREFIX}warm-up`, messages[index]);
  localStorage.removeItem(`${FLOOR_PREFIX}warm-up`);
  let start = performance.now();
  for (let index = 0; index < N; index += 1) localStorage.setItem(floorKeys[index], messages[index]);
  const setItemMs = performance.now() - start;
  start = performance.now();
  for (let index = 0; index < N; index += 1) localStorage.removeItem(floorKeys[index]);
  const removeItemMs = performance.now() - start;
  log(`localStorage: setItem ${(setItemMs * 1000 / N).toFixed(2)} µs, removeItem ${(removeItemMs * 1000 / N).toFixed(2)} µs`);

  await init();
  const tw = new TabWire({ url: `${WS}?tag=${KEY}`, queue: QUEUE, share: SHARE, heartbeat: false, autoConnect: false });
  let notQueued = 0;
  start = performance.now();
  for (let index = 0; index < N; index += 1) {
    if (tw.send(messages[index]).status !== "queued") notQueued += 1;
  }
  const enqueueMs = performance.now() - start;
  check("enqueue: every receipt is queued", notQueued === 0, `${notQueued} not queued`);
  check(`enqueue: the outbox holds ${N}`, tw.outbox().length === N, tw.outbox().length);
  const stored = keysUnder(PREFIX).length;
  check(`enqueue: localStorage holds ${N} keys`, stored === N, stored);
  log(`enqueue: ${(enqueueMs * 1000 / N).toFixed(2)} µs per send()`);

  const results = {
    floor: {
      setItemMs: round(setItemMs),
      setItemUs: round(setItemMs * 1000 / N),
      removeItemMs: round(removeItemMs),
      removeItemUs: round(removeItemMs * 1000 / N),
    },
    enqueue: { totalMs: round(enqueueMs), usPerMessage: round(enqueueMs * 1000 / N) },
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ results, checks }));
  const next = new URL(location.href);
  next.searchParams.set("phase", "restore");
  location.replace(next);
}

async function restorePhase() {
  const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
  if (!saved) throw new Error("the enqueue phase left no results in sessionStorage");
  sessionStorage.removeItem(SESSION_KEY);
  checks.push(...saved.checks);
  const results = saved.results;

  await init();
  const warnings = [];
  const errors = [];
  let start = performance.now();
  const tw = new TabWire({
    url: `${WS}?tag=${KEY}`,
    queue: QUEUE,
    share: SHARE,
    heartbeat: false,
    autoConnect: false,
    reconnect: { minDelayMs: 100, maxDelayMs: 500 },
  });
  const restoreMs = performance.now() - start;
  tw.on("warning", (warning) => warnings.push(warning));
  tw.on("error", ({ kind, message }) => errors.push(`${kind}: ${message}`));
  start = performance.now();
  const outbox = tw.outbox();
  const outboxMs = performance.now() - start;
  check(`restore: outbox().length === ${N}`, outbox.length === N, outbox.length);
  check(
    "restore: in send order",
    outbox.every((entry, index) => entry.data === messages[index]),
    outbox.findIndex((entry, index) => entry.data !== messages[index]),
  );
  log(`restore: ${restoreMs.toFixed(1)} ms for ${outbox.length} messages`);

  // Backlog: from reconnect() to the 10,000th ack.
  await control("reset", { tag: KEY });
  let acks = 0;
  let openedAt = NaN;
  let firstAckAt = NaN;
  let allAcked;
  const acked = new Promise((resolve) => {
    allAcked = resolve;
  });
  tw.on("open", () => {
    openedAt = performance.now();
  });
  tw.on("ack", () => {
    if (acks === 0) firstAckAt = performance.now();
    acks += 1;
    if (acks === N) allAcked(performance.now());
  });
  const backlogStart = performance.now();
  tw.reconnect();
  const end = await withTimeout(acked, WAIT_MS, `${N} acks`).catch((error) => {
    throw new Error(`${error.message}; got ${acks} acks, errors ${JSON.stringify(errors.slice(-5))}`);
  });
  const backlogMs = end - backlogStart;
  const backlogStats = await control("stats", { tag: KEY });
  const keysLeft = keysUnder(PREFIX).length;
  tw.close();
  check(`backlog: the server received ${N}`, backlogStats.framesReceived === N, backlogStats.framesReceived);
  check("backlog: no duplicates", backlogStats.duplicates === 0, backlogStats.duplicates);
  check("backlog: over one tabwire.v1 connection", backlogStats.protocolConnections === 1, JSON.stringify(backlogStats));
  check("backlog: no key left in localStorage", keysLeft === 0, keysLeft);
  check("backlog: no warnings or errors", warnings.length === 0 && errors.length === 0, JSON.stringify({ warnings, errors }));
  log(`backlog: ${backlogMs.toFixed(1)} ms, ${Math.round(N / (backlogMs / 1000))} messages/s`);

  // The same 10,000 messages over a plain WebSocket, raw echo.
  await control("reset", { tag: "raw" });
  start = performance.now();
  const rawMs = await withTimeout(
    new Promise((resolve, reject) => {
      const socket = new WebSocket(`${WS.replace(/\/ws$/, "/raw")}?tag=raw`);
      let echoes = 0;
      socket.onerror = () => reject(new Error("the raw WebSocket failed"));
      socket.onopen = () => {
        for (let index = 0; index < N; index += 1) socket.send(messages[index]);
      };
      socket.onmessage = () => {
        echoes += 1;
        if (echoes === N) {
          const ms = performance.now() - start;
          socket.close();
          resolve(ms);
        }
      };
    }),
    WAIT_MS,
    `${N} raw echoes`,
  );
  const rawStats = await control("stats", { tag: "raw" });
  check(`raw: the server received ${N}`, rawStats.framesReceived === N, rawStats.framesReceived);
  log(`raw: ${rawMs.toFixed(1)} ms, ${Math.round(N / (rawMs / 1000))} messages/s`);

  const backlogRate = N / (backlogMs / 1000);
  const rawRate = N / (rawMs / 1000);
  Object.assign(results, {
    restore: {
      totalMs: round(restoreMs),
      usPerMessage: round(restoreMs * 1000 / N),
      outboxLength: outbox.length,
      outboxListMs: round(outboxMs),
    },
    backlog: {
      totalMs: round(backlogMs),
      messagesPerSecond: Math.round(backlogRate),
      // Where the time goes: the open event, the first ack (after the
      // client handed all 10,000 to the socket), the last ack.
      openAtMs: round(openedAt - backlogStart),
      firstAckAtMs: round(firstAckAt - backlogStart),
      framesReceived: backlogStats.framesReceived,
      duplicates: backlogStats.duplicates,
    },
    raw: { totalMs: round(rawMs), messagesPerSecond: Math.round(rawRate), framesReceived: rawStats.framesReceived },
    ratios: {
      enqueueOverSetItem: round(results.enqueue.usPerMessage / results.floor.setItemUs),
      backlogOverRaw: round(backlogRate / rawRate, 3),
    },
  });
  return results;
}

try {
  if (PHASE === "enqueue") {
    await enqueuePhase();
  } else {
    const results = await restorePhase();
    await post("/results", {
      n: N,
      messageLength: MESSAGE_LENGTH,
      userAgent: navigator.userAgent,
      results,
      checks,
    });
    log("done");
  }
} catch (error) {
  log(`error: ${error?.stack ?? error}`);
  await post("/results", { error: String(error?.stack ?? error), checks }).catch(() => {});
}
