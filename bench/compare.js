// The comparison benchmark page, run by bench/run-compare.mjs in a plain
// headless Chromium (no driver attached, which would slow every frame),
// served cross-origin isolated (/isolated/) for 5 µs timers. The same
// workloads for each set-up:
//
//   raw                     the browser WebSocket (a hand-written
//                           reconnect-on-close loop for the reconnect runs)
//   reconnecting-websocket  and partysocket (its WebSocket), bundled by the
//   partysocket             runner with vite, retries at their minimum delay
//   tabwire solo            share: false
//   tabwire leader          share: true, with a follower in a same-origin
//   tabwire follower        iframe (compare-tab.html) that gets everything
//                           through the leader
//
// All with heartbeat: false; tabwire reconnects with {minDelayMs: 0,
// jitter: "none"} and otherwise its defaults (protocol mode with the
// reference server). The workloads:
//
//   throughput  /control/firehose makes the server send N frames to one
//               connection; timed from the request to the last one received
//   echo        sequential 64 B round trips (raw mode for raw WebSocket and
//               the wrappers, protocol mode for tabwire)
//   reconnect   from the close to the next open, after /control/drop and
//               after the runner SIGKILLs the server and restarts it 250 ms
//               later (POST /restart to the runner)
//   memory      JS heap (after gc()) and tabwire's wasm memory, before,
//               after reconnect cycles and after a firehose
//   profile     JS-thread time per message in the socket's (and the
//               BroadcastChannel's) message listeners
//
// Every workload checks what it received: the count, once each, in order.
// Query: ws and victim (WebSocket URLs of the two servers), report, run,
// config (JSON: counts). The page posts its raw figures; the runner sums up.

import init, { TabWire } from "/pkg/tabwire.js";

import { libraries, MEMORY_QUEUE, noop, raw, RUN, setUps, stopAll, tabwire, tabwireOptions, withTag } from "./compare-setups.js";
import { check, checks, control as controlAt, log, post, sleep, until, within } from "./page.js";
import { instrumentPosts, perMessage, profile, profiled, resetProfile, timed } from "./profiler.js";

const query = new URLSearchParams(location.search);
const WS = query.get("ws");
const VICTIM = query.get("victim");
const CONFIG = JSON.parse(query.get("config"));
const WAIT_MS = 60_000;

const now = () => performance.now();
const http = (ws) => ws.replace(/^ws/, "http").replace(/\/ws$/, "");

/** The control API of the server of WebSocket URL `ws`. */
const control = (ws, route, params) => controlAt(http(ws), route, params);

// ---- Throughput ---------------------------------------------------------

/** Counts what `client` receives of a firehose: frame k must be the k-th, of the right size. */
function tally(client, { count, bytes, binary }) {
  const seen = { received: 0, wrong: 0, lastAt: 0 };
  seen.done = new Promise((resolve) => {
    client.sink = binary
      ? (data) => {
          if (data.byteLength !== bytes || new DataView(data).getUint32(0) !== seen.received) seen.wrong += 1;
          seen.received += 1;
          if (seen.received === count) {
            seen.lastAt = now();
            resolve();
          }
        }
      : (data) => {
          if (data.length !== bytes || Number(data.slice(0, 8)) !== seen.received) seen.wrong += 1;
          seen.received += 1;
          if (seen.received === count) {
            seen.lastAt = now();
            resolve();
          }
        };
  });
  return seen;
}

/**
 * One firehose to the connection of `setup`: the ms from the request until
 * each of its clients had the last frame, and what was wrong (nothing: []).
 */
async function firehose(setup, workload) {
  const clients = Object.entries(setup.clients);
  const tallies = clients.map(([, client]) => tally(client, workload));
  const started = now();
  const answer = control(WS, "firehose", { tag: setup.tag, count: workload.count, bytes: workload.bytes, binary: workload.binary });
  await within(Promise.all(tallies.map((seen) => seen.done)), WAIT_MS, `${workload.name} to ${setup.name}`).catch((error) => {
    const seen = clients.map(([row, client], index) => ({ row, received: tallies[index].received, wrong: tallies[index].wrong, stats: client.tw?.stats() }));
    throw new Error(`${error.message}; of ${workload.count}: ${JSON.stringify(seen)}`);
  });
  const reply = await answer;
  // Anything more than the count would be a duplicate.
  await sleep(50);
  const times = {};
  const problems = [];
  clients.forEach(([row, client], index) => {
    const { received, wrong, lastAt } = tallies[index];
    client.sink = noop;
    times[row] = lastAt - started;
    if (received !== workload.count || wrong !== 0 || reply.connections !== 1 || reply.sent !== 1) problems.push({ row, received, wrong, reply });
  });
  return { times, problems };
}

async function throughput(setups) {
  const figures = {};
  for (const workload of CONFIG.throughput) {
    log(`throughput: ${workload.name}, ${CONFIG.reps} runs each`);
    const warmUp = { ...workload, count: Math.ceil(workload.count / 20) };
    const problems = [];
    for (const setup of setups) problems.push(...(await firehose(setup, warmUp)).problems);
    const runs = {};
    for (let rep = 0; rep < CONFIG.reps; rep += 1) {
      for (const setup of setups) {
        const { times, problems: wrong } = await firehose(setup, workload);
        problems.push(...wrong);
        for (const [row, ms] of Object.entries(times)) (runs[row] ??= []).push(ms);
      }
    }
    check(`throughput: ${workload.name}: every frame once, in order, in every run`, problems.length === 0, problems);
    figures[workload.name] = { count: workload.count, bytes: workload.bytes, binary: workload.binary, ms: runs };
  }
  return figures;
}

// ---- Echo round trips -----------------------------------------------------

const FILLER = "abcdefghijklmnopqrstuvwxyz0123456789".repeat(2);
/** Each client's echoes start with a letter of its own: a follower also gets its leader's, and the other way round. */
let letters = 0;
const echoPayload = (letter, seq) => `${letter}${String(seq).padStart(7, "0")}${FILLER}`.slice(0, 64);

/** `count` sequential round trips: `client` sends, and must get the same text back (other tabs' echoes aside); ms each. */
function echoes(client, count) {
  const times = [];
  let wrong = 0;
  client.letter ??= String.fromCharCode(65 + letters++);
  return within(
    new Promise((resolve) => {
      let expected;
      let sentAt;
      const next = () => {
        expected = echoPayload(client.letter, times.length);
        sentAt = now();
        client.send(expected);
      };
      client.sink = (data) => {
        const at = now();
        if (data !== expected) {
          if (data[0] === client.letter) wrong += 1;
          return;
        }
        times.push(at - sentAt);
        if (times.length === count) {
          client.sink = noop;
          resolve({ times, wrong });
        } else next();
      };
      next();
    }),
    WAIT_MS,
    "the echoes",
  );
}

/** A solo client whose outbox is in memory, not localStorage: what durability costs a round trip. */
async function memoryQueueClient(label) {
  const key = `${label}-memory-queue-${RUN}`;
  const client = tabwire(new TabWire({ ...tabwireOptions(withTag(WS, key), key, false), queue: { key, storage: "memory" } }));
  await until("the memory-queue client", () => client.opens > 0);
  return client;
}

/** Rounds of the echo: the clients take turns, so that a busy spell of the machine hits them all alike. */
const ECHO_ROUNDS = 10;

async function roundTrips(setups) {
  log(`echo: ${CONFIG.echo.count} sequential round trips of 64 B each (after ${CONFIG.echo.warmUp}), in ${ECHO_ROUNDS} rounds`);
  const memoryQueue = await memoryQueueClient("echo");
  const clients = [...setups.flatMap((setup) => Object.entries(setup.clients)), [MEMORY_QUEUE, memoryQueue]];
  for (const [, client] of clients) await echoes(client, CONFIG.echo.warmUp);
  const figures = Object.fromEntries(clients.map(([row]) => [row, []]));
  const wrong = Object.fromEntries(clients.map(([row]) => [row, 0]));
  for (let round = 0; round < ECHO_ROUNDS; round += 1) {
    for (const [row, client] of clients) {
      const result = await echoes(client, CONFIG.echo.count / ECHO_ROUNDS);
      figures[row].push(...result.times);
      wrong[row] += result.wrong;
    }
  }
  for (const [row] of clients) {
    check(`echo: ${row}: every echo once, in order`, figures[row].length === CONFIG.echo.count && wrong[row] === 0, { received: figures[row].length, wrong: wrong[row] });
  }
  memoryQueue.stop();
  return figures;
}

// ---- Reconnect ------------------------------------------------------------

/** The close of `client`'s connection and the next open after it. */
function reopening(client) {
  const mark = { closedAt: 0, openedAt: 0 };
  mark.done = new Promise((resolve) => {
    client.onClose = () => {
      if (!mark.closedAt) mark.closedAt = now();
    };
    client.onOpen = () => {
      if (mark.closedAt && !mark.openedAt) {
        mark.openedAt = now();
        resolve();
      }
    };
  });
  return mark;
}

/**
 * `runs` times `breakIt()` (after `pauseMs`), timing close→open in every
 * client of `setup`; checks one open each time and one connection on the
 * server after each.
 */
async function reconnects(setup, ws, runs, breakIt, pauseMs = 30) {
  const clients = Object.entries(setup.clients);
  const opens = clients.map(([, client]) => client.opens);
  const times = Object.fromEntries(clients.map(([row]) => [row, []]));
  let connections = [];
  for (let run = 0; run < runs; run += 1) {
    if (pauseMs) await sleep(pauseMs);
    const marks = clients.map(([, client]) => reopening(client));
    await breakIt(setup);
    await within(Promise.all(marks.map((mark) => mark.done)), WAIT_MS, `${setup.name} to reconnect`);
    clients.forEach(([row], index) => times[row].push(marks[index].openedAt - marks[index].closedAt));
    connections.push((await control(ws, "stats", { tag: setup.tag })).connections);
  }
  await sleep(50);
  for (const [, client] of clients) client.onOpen = client.onClose = noop;
  const extraOpens = clients.map(([, client], index) => client.opens - opens[index] - runs);
  connections = [...new Set(connections)];
  return { times, ok: extraOpens.every((n) => n === 0) && connections.length === 1 && connections[0] === 1, detail: { extraOpens, connections } };
}

async function reconnectAfterDrop(setups) {
  log(`reconnect: ${CONFIG.drops} drops each`);
  const figures = {};
  for (const setup of setups) {
    const { times, ok, detail } = await reconnects(setup, WS, CONFIG.drops, () => control(WS, "drop", { tag: setup.tag }));
    Object.assign(figures, times);
    check(`reconnect after drop: ${setup.name}: one open per drop, one connection`, ok, detail);
  }
  return figures;
}

async function reconnectAfterRestart() {
  log(`reconnect: ${CONFIG.restarts} server restarts each`);
  const setups = await setUps(VICTIM, "restart");
  const figures = {};
  const restart = async () => {
    const response = await post("/restart", {});
    if (!response.ok) throw new Error(`the runner could not restart the server: ${await response.text()}`);
  };
  for (const setup of setups) {
    const { times, ok, detail } = await reconnects(setup, VICTIM, CONFIG.restarts, restart);
    Object.assign(figures, times);
    check(`reconnect after restart: ${setup.name}: one open per restart, one connection`, ok, detail);
  }
  stopAll(setups);
  return figures;
}

// ---- Memory ---------------------------------------------------------------

async function collected(wasm) {
  for (let round = 0; round < 3; round += 1) {
    window.gc();
    await sleep(20);
  }
  return { jsHeap: performance.memory.usedJSHeapSize, wasm: wasm.memory.buffer.byteLength };
}

/** Memory of one client: after it opened, after `cycles` drops and reopens, after a firehose. */
async function memoryOf(name, make, wasm) {
  const tag = `memory-${name.replace(/\W+/g, "-")}-${RUN}`;
  const client = make(withTag(WS, tag), tag);
  await until(`${name} open`, () => client.opens > 0);
  const setup = { name, tag, clients: { [name]: client } };
  const before = await collected(wasm);
  const cycling = await reconnects(setup, WS, CONFIG.memory.cycles, () => control(WS, "drop", { tag }), 0);
  check(`memory: ${name}: ${CONFIG.memory.cycles} reconnect cycles, one open each`, cycling.ok, cycling.detail);
  const afterReconnects = await collected(wasm);
  const workload = { name: `${CONFIG.memory.messages} × 64 B`, count: CONFIG.memory.messages, bytes: 64, binary: false };
  const { problems } = await firehose(setup, workload);
  check(`memory: ${name}: ${workload.name}, every frame once, in order`, problems.length === 0, problems);
  const afterMessages = await collected(wasm);
  client.stop();
  return { before, afterReconnects, afterMessages, reconnectMs: cycling.times[name] };
}

async function memory(wasm) {
  log(`memory: ${CONFIG.memory.cycles} reconnect cycles, then ${CONFIG.memory.messages} messages`);
  if (typeof window.gc !== "function" || !performance.memory) throw new Error("start Chromium with --js-flags=--expose-gc --enable-precise-memory-info");
  return {
    "raw WebSocket": await memoryOf("raw WebSocket", (url) => raw(url), wasm),
    "tabwire solo": await memoryOf("tabwire solo", (url, key) => tabwire(new TabWire(tabwireOptions(url, key, false))), wasm),
  };
}

// ---- Profile --------------------------------------------------------------

/**
 * A bare BroadcastChannel from this page to the follower's frame, carrying
 * what a leader carries per frame (a small object holding the data): the
 * ceiling of one post per message between these frames.
 */
async function bareBroadcast(frame, { name, count, bytes, binary }) {
  const channel = `bare-${name.replace(/\W+/g, "-")}-${RUN}`;
  const receiver = new frame.contentWindow.BroadcastChannel(channel);
  const sender = new BroadcastChannel(channel);
  const data = binary ? new ArrayBuffer(bytes) : "x".repeat(bytes);
  let received = 0;
  const all = new Promise((resolve) => {
    receiver.onmessage = () => {
      received += 1;
      if (received === count) resolve();
    };
  });
  const started = now();
  for (let seq = 0; seq < count; seq += 1) sender.postMessage({ tabwire: 1, kind: "event", epoch: 1, event: "message", data });
  const postsMs = now() - started;
  await within(all, WAIT_MS, "the bare BroadcastChannel");
  const totalMs = now() - started;
  sender.close();
  receiver.close();
  return { postMessageUs: (postsMs * 1000) / count, perSecond: count / (totalMs / 1000), received };
}

/** Profiled echo round trips: the JS time of send() and of the socket listeners per round trip. */
async function profiledEchoes(clients) {
  const figures = {};
  for (const [row, client] of Object.entries(clients)) {
    const send = client.send;
    client.send = (data) => timed("send", () => send(data));
    await echoes(client, CONFIG.echo.warmUp);
    resetProfile();
    const { times, wrong } = await echoes(client, CONFIG.echo.warmUp * 5);
    const roundTrips = times.length;
    figures[row] = {
      roundTrips,
      p50Ms: times.sort((a, b) => a - b)[roundTrips >> 1],
      sendUs: perMessage(profile.send),
      // The listener that gets an echo sends the next message: without that send().
      socketListenersUsPerRoundTrip: ((profile.socket.ms - profile.send.ms) * 1000) / roundTrips,
      socketFramesPerRoundTrip: profile.socket.calls / roundTrips,
      wrong,
    };
  }
  return figures;
}

/** JS-thread time per message in the message listeners, for each set-up and workload. */
async function profiles() {
  log("profile: JS-thread time per message");
  profile.on = true;
  instrumentPosts(window);
  const setups = await setUps(WS, "profile");
  const echoClients = {
    "raw WebSocket": setups[0].clients["raw WebSocket"],
    "tabwire solo": setups[3].clients["tabwire solo"],
    [MEMORY_QUEUE]: await memoryQueueClient("profile"),
  };
  const figures = { echo: await profiledEchoes(echoClients), bareBroadcastChannel: {} };
  echoClients[MEMORY_QUEUE].stop();
  const follower = document.querySelector("iframe");
  for (const workload of CONFIG.profile) {
    figures.bareBroadcastChannel[workload.name] = await bareBroadcast(follower, workload);
    for (const setup of setups) {
      resetProfile();
      // The application's listener, marking when it ran.
      const clients = Object.values(setup.clients);
      const tallies = clients.map((client) => tally(client, workload));
      for (const client of clients) {
        const count = client.sink;
        client.sink = (data) => {
          profile.appEnter = now();
          count(data);
          profile.appExit = now();
        };
      }
      const started = now();
      await control(WS, "firehose", { tag: setup.tag, count: workload.count, bytes: workload.bytes, binary: workload.binary });
      await within(Promise.all(tallies.map((seen) => seen.done)), WAIT_MS, "the profiled firehose");
      const wallMs = Math.max(...tallies.map((seen) => seen.lastAt)) - started;
      (figures[workload.name] ??= {})[setup.name] = {
        wallUsPerMessage: (wallMs * 1000) / workload.count,
        ...profiled(),
        received: tallies.map((seen) => seen.received),
        wrong: tallies.map((seen) => seen.wrong),
      };
      for (const client of clients) client.sink = noop;
    }
  }
  profile.on = false;
  stopAll(setups);
  const wrong = CONFIG.profile.flatMap(({ name, count }) => [
    ...Object.entries(figures[name]).filter(([, seen]) => seen.received.some((n) => n !== count) || seen.wrong.some(Boolean)),
    ...(figures.bareBroadcastChannel[name].received === count ? [] : [["bare BroadcastChannel", figures.bareBroadcastChannel[name]]]),
  ]);
  const wrongEchoes = Object.entries(figures.echo).filter(([, { wrong: bad }]) => bad);
  check("profile: every frame once, in order; every echo", wrong.length === 0 && wrongEchoes.length === 0, [...wrong, ...wrongEchoes]);
  return figures;
}

// ---- Main -----------------------------------------------------------------

async function modes(setups) {
  const result = {};
  for (const setup of setups) {
    const stats = await control(WS, "stats", { tag: setup.tag });
    result[setup.name] = { connections: stats.connections, protocol: stats.protocolConnections === 1 };
  }
  return result;
}

try {
  localStorage.clear();
  const wasm = await init();
  const [rws, partysocket] = await Promise.all(["reconnecting-websocket", "partysocket"].map((name) => import(`./results/compare/page/${name}.js`)));
  Object.assign(libraries, { rws: rws.default, partysocket: partysocket.default });
  check("the bundled libraries load", typeof libraries.rws === "function" && typeof libraries.partysocket === "function", Object.keys(libraries));
  const timerResolution = crossOriginIsolated ? "5 µs (cross-origin isolated)" : "100 µs (not cross-origin isolated)";
  log(`timer resolution ${timerResolution}`);
  const started = now();
  const setups = await setUps(WS, "main");
  const serverModes = await modes(setups);
  check("tabwire in protocol mode, the others in raw mode, one connection each", Object.entries(serverModes).every(([name, { connections, protocol }]) => connections === 1 && protocol === name.startsWith("tabwire")), serverModes);
  const results = { modes: serverModes };
  results.throughput = await throughput(setups);
  results.echo = await roundTrips(setups);
  results.reconnectAfterDrop = await reconnectAfterDrop(setups);
  stopAll(setups);
  results.reconnectAfterRestart = await reconnectAfterRestart();
  results.memory = await memory(wasm);
  results.profile = await profiles();
  results.pageSeconds = (now() - started) / 1000;
  await post("/results", { userAgent: navigator.userAgent, crossOriginIsolated, timerResolution, config: CONFIG, results, checks });
} catch (error) {
  await post("/results", { error: String(error?.stack ?? error), checks });
}
