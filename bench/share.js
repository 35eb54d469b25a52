// The sharing benchmark page, run by bench/run-share.mjs in a plain headless
// Chromium (no driver attached, which would slow every frame). Tabs are
// same-origin iframes of bench/share-tab.html: they share Web Locks,
// BroadcastChannel and localStorage exactly as tabs do.
//
//   latency: one leader and FOLLOWERS followers; the leader sends MESSAGES
//     messages {seq, t}, one every GAP_MS, the reference server echoes each
//     to the leader's socket, and every tab records when the echo arrived:
//     the leader's round trip, and each follower's delay behind the leader.
//     For comparison, the same number of messages posted on a bare
//     BroadcastChannel from the leader's frame to the followers' frames.
//     Same-origin iframes share one main thread, so a follower's delay also
//     holds the time the other frames took for the same message.
//   connections: 1, 5 and 20 tabs with share on and off; the server counts
//     their connections.
//
// Query: ws (WebSocket endpoint), report (the runner's results server), run.

const query = new URLSearchParams(location.search);
const WS = query.get("ws");
const REPORT = query.get("report");
const RUN = query.get("run");
const CONTROL = WS.replace(/^ws/, "http").replace(/\/ws$/, "");
const FOLLOWERS = 4;
const MESSAGES = 1_000;
const GAP_MS = 4;
const WAIT_MS = 30_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const at = () => performance.timeOrigin + performance.now();

function post(route, body) {
  return fetch(`${REPORT}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

function log(line) {
  document.getElementById("log").textContent += `${line}\n`;
  post("/log", { line }).catch(() => {});
}

async function until(what, check) {
  const deadline = performance.now() + WAIT_MS;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Adds a tab (iframe) of namespace `key`; resolves to its window once its client exists. */
async function addTab(key, share = true) {
  const frame = document.createElement("iframe");
  const tag = encodeURIComponent(key);
  frame.src = `share-tab.html?ws=${encodeURIComponent(`${WS}?tag=${tag}`)}&key=${tag}&share=${share}`;
  document.body.append(frame);
  await until("a tab's client", () => frame.contentWindow?.ready);
  return frame;
}

const isOpen = (frame) => frame.contentWindow.tw.state === "open";

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (v) => Math.round(v * 1000) / 1000;
  return { n: sorted.length, p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1)) };
}

async function latency() {
  const key = `latency-${RUN}`;
  const leader = await addTab(key);
  await until("the leader's socket", () => leader.contentWindow.role() === "leader" && isOpen(leader));
  const followers = [];
  for (let index = 0; index < FOLLOWERS; index += 1) followers.push(await addTab(key));
  await until("every follower to see the connection open", () => followers.every(isOpen));
  if (!followers.every((frame) => frame.contentWindow.role() === "follower")) throw new Error("the followers do not follow");
  const sentAt = [];
  const tw = leader.contentWindow.tw;
  for (let seq = 0; seq < MESSAGES; seq += 1) {
    sentAt.push(at());
    tw.send({ seq, t: sentAt[seq] });
    await sleep(GAP_MS);
  }
  const tabs = [leader, ...followers];
  await until("every echo in every tab", () => tabs.every((frame) => frame.contentWindow.arrivals.size === MESSAGES));
  const leaderArrivals = leader.contentWindow.arrivals;
  const roundTrips = [];
  const behind = [];
  for (let seq = 0; seq < MESSAGES; seq += 1) {
    roundTrips.push(leaderArrivals.get(seq) - sentAt[seq]);
    for (const frame of followers) behind.push(frame.contentWindow.arrivals.get(seq) - leaderArrivals.get(seq));
  }
  const bare = await bareBroadcast(leader, followers);
  for (const frame of tabs) frame.remove();
  return {
    followers: FOLLOWERS,
    messages: MESSAGES,
    gapMs: GAP_MS,
    leaderRoundTripMs: summary(roundTrips),
    followerBehindLeaderMs: summary(behind),
    bareBroadcastChannelMs: summary(bare),
    rawWebSocketRoundTripMs: summary(await rawRoundTrips()),
  };
}

/** Round trips of a raw WebSocket (raw-mode echo) from this page, paced the same. */
async function rawRoundTrips() {
  const socket = new WebSocket(`${WS.replace(/\/ws$/, "/raw")}?tag=raw-${RUN}`);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error("the raw WebSocket failed"));
  });
  const arrivals = new Map();
  socket.onmessage = ({ data }) => arrivals.set(JSON.parse(data).seq, at());
  const sentAt = [];
  for (let seq = 0; seq < MESSAGES; seq += 1) {
    sentAt.push(at());
    socket.send(JSON.stringify({ seq, t: sentAt[seq] }));
    await sleep(GAP_MS);
  }
  await until("every raw echo", () => arrivals.size === MESSAGES);
  socket.close();
  return sentAt.map((sent, seq) => arrivals.get(seq) - sent);
}

/** Delays of a bare BroadcastChannel from the leader's frame to each follower's frame, in the same run. */
async function bareBroadcast(leader, followers) {
  const name = `bare-${RUN}`;
  const arrivals = followers.map((frame) => {
    const seen = new Map();
    const channel = new frame.contentWindow.BroadcastChannel(name);
    channel.onmessage = (event) => seen.set(event.data.seq, at());
    return { seen, channel };
  });
  const sender = new leader.contentWindow.BroadcastChannel(name);
  const sentAt = [];
  for (let seq = 0; seq < MESSAGES; seq += 1) {
    sentAt.push(at());
    sender.postMessage({ seq, t: sentAt[seq] });
    await sleep(GAP_MS);
  }
  await until("every bare message", () => arrivals.every(({ seen }) => seen.size === MESSAGES));
  sender.close();
  const delays = [];
  for (const { seen, channel } of arrivals) {
    channel.close();
    for (let seq = 0; seq < MESSAGES; seq += 1) delays.push(seen.get(seq) - sentAt[seq]);
  }
  return delays;
}

async function connections(count, share) {
  const key = `connections-${count}-${share}-${RUN}`;
  const frames = [];
  for (let index = 0; index < count; index += 1) frames.push(await addTab(key, share));
  await until(`${count} tabs open`, () => frames.every(isOpen));
  await sleep(200);
  const stats = await (await fetch(`${CONTROL}/control/stats?tag=${encodeURIComponent(key)}`, { method: "POST" })).json();
  const roles = frames.map((frame) => frame.contentWindow.role());
  for (const frame of frames) frame.remove();
  return { tabs: count, share, connections: stats.connections, leaders: roles.filter((r) => r === "leader").length };
}

try {
  log("latency: 1 leader, 4 followers");
  const results = { latency: await latency(), connections: [] };
  for (const share of [true, false]) {
    for (const count of [1, 5, 20]) {
      log(`connections: ${count} tabs, share ${share}`);
      results.connections.push(await connections(count, share));
    }
  }
  results.timerResolution = crossOriginIsolated ? "5 µs" : "100 µs (page not cross-origin isolated)";
  await post("/results", { results });
} catch (error) {
  await post("/results", { error: String(error?.stack ?? error) });
}
