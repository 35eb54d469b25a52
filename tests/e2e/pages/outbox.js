// The page of tests/e2e/outbox.test.mjs: one TabWire client with a durable
// outbox, driven by the test through window.* functions.
//
// Query: ?ws=<WebSocket URL, encoded>&key=<queue namespace>

import init, { TabWire } from "/pkg/tabwire.js";

const query = new URLSearchParams(location.search);
const url = query.get("ws");
const key = query.get("key");

/** Every ack id, error, warning, state and inbound message, in order. */
window.acks = [];
window.errors = [];
window.warnings = [];
window.states = [];
window.messages = [];
/** The localStorage prefix of this client's outbox. */
window.prefix = `tabwire:${key}:ob:`;

/** The localStorage keys of this client's outbox, sorted. */
window.storedKeys = () => {
  const keys = [];
  for (let index = 0; index < localStorage.length; index += 1) {
    const name = localStorage.key(index);
    if (name !== null && name.startsWith(window.prefix)) keys.push(name);
  }
  return keys.sort();
};

/** Sends `${prefix}${first}` .. `${prefix}${first + n - 1}`; returns the receipts. */
window.sendMany = (prefix, n, first = 0) => {
  const receipts = [];
  for (let index = first; index < first + n; index += 1) receipts.push(window.tw.send(`${prefix}${index}`));
  return receipts;
};

/** The outbox as plain data. */
window.outboxList = () =>
  window.tw.outbox().map(({ id, data, attempts, inFlight, stored }) => ({ id, data, attempts, inFlight, stored }));

try {
  await init();
  const tw = new TabWire({
    url,
    queue: { key, storage: "local" },
    reconnect: { minDelayMs: 100, maxDelayMs: 500 },
    heartbeat: false,
  });
  tw.on("ack", ({ id }) => window.acks.push(id));
  tw.on("error", ({ kind, message }) => window.errors.push({ kind, message }));
  tw.on("warning", ({ key, message }) => window.warnings.push({ key, message }));
  tw.on("message", ({ data }) => window.messages.push(typeof data === "string" ? data : `<binary ${data.byteLength}>`));
  tw.on("state", ({ state }) => {
    window.states.push(state);
    document.getElementById("state").textContent = state;
  });
  window.tw = tw;
  // The client takes the stored outbox when it takes the lead of its
  // namespace (it is the only tab): what it restored, before it could
  // connect and deliver any of it.
  tw.on("role", ({ role }) => {
    if (role !== "leader" || window.ready) return;
    window.restored = window.outboxList();
    window.ready = true;
  });
} catch (error) {
  window.initError = String(error?.stack ?? error);
  window.ready = true;
}
