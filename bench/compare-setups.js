// The set-ups of the comparison page (compare.js): the raw browser
// WebSocket with a baseline reconnect loop, reconnecting-websocket and
// partysocket at their minimum delays, tabwire solo, and tabwire shared (a
// leader here, a follower in an iframe), each on its own tag of the
// reference server, with the hooks the workloads replace.

import { TabWire } from "/pkg/tabwire.js";

import { until } from "./page.js";

/** The run's id, in every tag, so that runs never share server state. */
export const RUN = new URLSearchParams(location.search).get("run");

export const noop = () => {};
export const withTag = (url, tag) => `${url}?tag=${encodeURIComponent(tag)}`;
/** The reference server's echo endpoint without the tabwire protocol (it never greets): where the clients that do not speak it connect. */
export const rawEndpoint = (url) => url.replace(/\/ws(\?|$)/, "/raw$1");

/** What a set-up gives the workloads: hooks they replace, and counters. */
function hooks() {
  const client = { sink: noop, onOpen: noop, onClose: noop, opens: 0, closes: 0 };
  client.opened = () => {
    client.opens += 1;
    client.onOpen();
  };
  client.closed = () => {
    client.closes += 1;
    client.onClose();
  };
  return client;
}

/** A browser WebSocket with the baseline reconnect loop: a new socket as soon as one closes. */
export function raw(url) {
  const client = hooks();
  let socket;
  let stopped = false;
  const connect = () => {
    socket = new WebSocket(rawEndpoint(url));
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", client.opened);
    socket.addEventListener("message", (event) => client.sink(event.data));
    socket.addEventListener("close", () => {
      client.closed();
      if (!stopped) connect();
    });
  };
  connect();
  client.send = (data) => socket.send(data);
  client.stop = () => {
    stopped = true;
    socket.close();
  };
  return client;
}

/** reconnecting-websocket or partysocket's WebSocket, retrying at their minimum delays. */
function wrapper(Class, url) {
  const client = hooks();
  const socket = new Class(rawEndpoint(url), undefined, { minReconnectionDelay: 0, maxReconnectionDelay: 0, reconnectionDelayGrowFactor: 1 });
  socket.binaryType = "arraybuffer";
  socket.addEventListener("open", client.opened);
  socket.addEventListener("message", (event) => client.sink(event.data));
  socket.addEventListener("close", client.closed);
  client.send = (data) => socket.send(data);
  client.stop = () => socket.close();
  return client;
}

const RECONNECT = { minDelayMs: 0, jitter: "none" };
export const MEMORY_QUEUE = "tabwire solo, queue.storage memory";
export const tabwireOptions = (url, key, share) => ({ url, heartbeat: false, share, queue: { key }, reconnect: RECONNECT });

export function tabwire(tw) {
  const client = hooks();
  tw.on("open", client.opened);
  tw.on("message", ({ data }) => client.sink(data));
  tw.on("close", client.closed);
  client.tw = tw;
  client.send = (data) => tw.send(data);
  client.stop = () => tw.free();
  return client;
}

/** A leader in this page and a follower in a same-origin iframe, sharing its connection. */
async function shared(url, key) {
  const leader = tabwire(new TabWire(tabwireOptions(url, key, true)));
  await until("the leader", () => leader.tw.stats().role === "leader" && leader.tw.state === "open");
  const frame = document.createElement("iframe");
  frame.src = `compare-tab.html?${new URLSearchParams({ options: JSON.stringify(tabwireOptions(url, key, true)) })}`;
  document.body.append(frame);
  await until("the follower's client", () => frame.contentWindow?.tw);
  const follower = tabwire(frame.contentWindow.tw);
  await until("the follower", () => follower.tw.stats().role === "follower" && follower.tw.state === "open");
  // A follower joining an open connection gets no open event: it counts as one.
  follower.opens = Math.max(follower.opens, 1);
  follower.stop = () => {
    follower.tw.free();
    frame.remove();
  };
  return { leader, follower };
}

/** The peer libraries, once the page has loaded them (`{rws, partysocket}`). */
export const libraries = {};

/**
 * The set-ups on the server of `ws`, each with its own tag: `{name, tag,
 * clients: {row: client}}`; "tabwire shared" has the rows leader and
 * follower, the others one row of their name.
 */
export async function setUps(ws, label) {
  const tag = (name) => `${label}-${name.replace(/\W+/g, "-")}-${RUN}`;
  const list = [
    { name: "raw WebSocket", make: (url) => raw(url) },
    { name: "reconnecting-websocket", make: (url) => wrapper(libraries.rws, url) },
    { name: "partysocket", make: (url) => wrapper(libraries.partysocket, url) },
    { name: "tabwire solo", make: (url, key) => tabwire(new TabWire(tabwireOptions(url, key, false))) },
  ];
  const ready = [];
  for (const { name, make } of list) {
    const client = make(withTag(ws, tag(name)), tag(name));
    ready.push({ name, tag: tag(name), clients: { [name]: client } });
  }
  const sharedTag = tag("tabwire shared");
  const { leader, follower } = await shared(withTag(ws, sharedTag), sharedTag);
  ready.push({ name: "tabwire shared", tag: sharedTag, clients: { "tabwire leader": leader, "tabwire follower": follower } });
  const closed = () => ready.flatMap(({ clients }) => Object.entries(clients).filter(([, c]) => c.opens === 0).map(([row]) => row));
  await until("every set-up open", () => closed().length === 0).catch((error) => {
    throw new Error(`${error.message}: ${closed().join(", ")} not open`);
  });
  return ready;
}

export function stopAll(setups) {
  for (const { clients } of setups) {
    // The follower first, so that the leader has nobody to hand over to.
    for (const client of Object.values(clients).reverse()) client.stop();
  }
}
