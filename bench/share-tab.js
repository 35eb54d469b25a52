// One tab of the sharing benchmark (bench/run-share.mjs): a TabWire client
// that records, in epoch ms with performance.now() resolution, when it took
// a role, when its socket opened and when each echoed message arrived.
// Used as a top-level tab (failover, driven by Playwright) and as an iframe
// of bench/share.html (latency and connection counts, no driver attached).
//
// Query: ws (WebSocket URL), key (namespace), share ("false" to turn it off).

import init, { TabWire } from "/pkg/tabwire.js";

const query = new URLSearchParams(location.search);
const at = () => performance.timeOrigin + performance.now();

window.opens = [];
/** seq -> arrival time of the echoed message `{seq, t}`. */
window.arrivals = new Map();

await init();
const tw = new TabWire({
  url: query.get("ws"),
  queue: { key: query.get("key") },
  share: query.get("share") !== "false",
  heartbeat: false,
  reconnect: { minDelayMs: 50, maxDelayMs: 500 },
});
tw.on("open", () => window.opens.push(at()));
tw.on("message", ({ data }) => {
  const now = at();
  if (typeof data === "string" && data.startsWith('{"seq"')) window.arrivals.set(JSON.parse(data).seq, now);
});
window.tw = tw;
window.role = () => tw.stats().role;
window.ready = true;
