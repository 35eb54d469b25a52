// The page of tests/e2e/share.test.mjs: one TabWire client that shares its
// connection with the other tabs of its namespace, driven by the test
// through window.* functions. Every event is recorded with the epoch time
// it arrived at.
//
// Query: ?ws=<WebSocket URL, encoded>&key=<namespace>[&share=false]

import init, { TabWire } from "/pkg/tabwire.js";

const query = new URLSearchParams(location.search);

/** Unix epoch ms, with performance.now() resolution. */
const at = () => performance.timeOrigin + performance.now();

window.roles = [];
window.states = [];
window.opens = [];
window.messages = [];
window.channelMessages = [];
window.acks = [];
window.warnings = [];
window.errors = [];
/** Whether the page came back from the back/forward cache. */
window.restoredFromCache = false;
addEventListener("pageshow", (event) => {
  if (event.persisted) window.restoredFromCache = true;
});
/** channel name -> unsubscribe function. */
const subscriptions = new Map();

try {
  await init();
  const tw = new TabWire({
    url: query.get("ws"),
    queue: { key: query.get("key") },
    share: query.get("share") !== "false",
    reconnect: { minDelayMs: 50, maxDelayMs: 500 },
    heartbeat: false,
  });
  tw.on("role", ({ role }) => {
    window.roles.push({ role, at: at() });
    document.getElementById("role").textContent = role;
  });
  tw.on("state", ({ state }) => {
    window.states.push(state);
    document.getElementById("state").textContent = state;
  });
  tw.on("open", () => window.opens.push(at()));
  tw.on("message", ({ data }) => window.messages.push(data));
  tw.on("ack", ({ id }) => window.acks.push(id));
  tw.on("warning", ({ key, message }) => window.warnings.push({ key, message }));
  tw.on("error", ({ kind, message }) => window.errors.push({ kind, message }));
  window.tw = tw;
  window.role = () => tw.stats().role;
  window.send = (text) => tw.send(text);
  window.subscribe = (channel) => {
    subscriptions.set(channel, tw.subscribe(channel, ({ data }) => window.channelMessages.push({ channel, data })));
  };
  window.unsubscribe = (channel) => {
    subscriptions.get(channel)?.();
    subscriptions.delete(channel);
  };
  window.ready = true;
} catch (error) {
  window.initError = String(error?.stack ?? error);
  window.ready = true;
}
