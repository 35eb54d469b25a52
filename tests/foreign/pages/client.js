// The page of tests/foreign/: one TabWire client on default options (only
// `url`, unless the test gives `extra`), every event it fires recorded in
// window.events, driven by the test through window.* functions.
//
// Query: ?ws=<WebSocket URL, encoded>[&extra=<JSON options>][&start=manual]

import init, { TabWire } from "/pkg/tabwire.js";

const query = new URLSearchParams(location.search);
const url = query.get("ws");
const extra = query.has("extra") ? JSON.parse(query.get("extra")) : {};

/** Every event, in order: `{name, payload, at}`; a message's data as text or `binary:<hex>`. */
window.events = [];
/** The localStorage prefix of the outbox: the namespace is the URL without its query. */
window.prefix = `tabwire:${url.split(/[?#]/)[0]}:ob:`;

const hex = (buffer) => Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("");
const describe = (data) => (typeof data === "string" ? data : `binary:${hex(data)}`);

/** The events called `name` whose payload has every field of `match`. */
window.named = (name, match = {}) =>
  window.events.filter((event) => event.name === name && Object.entries(match).every(([key, value]) => event.payload[key] === value));
/** The data of every message event, in order. */
window.received = () => window.named("message").map((event) => event.payload.data);

window.start = () => {
  const tw = new TabWire({ url, ...extra });
  const record = (name, payload) => window.events.push({ name, payload, at: Date.now() });
  for (const name of ["open", "close", "state", "reconnecting", "error", "warning", "role"]) {
    tw.on(name, (payload) => record(name, { ...payload }));
  }
  tw.on("message", ({ data }) => record("message", { data: describe(data) }));
  tw.on("state", ({ state }) => (document.getElementById("state").textContent = state));
  tw.on("role", ({ role }) => (document.getElementById("role").textContent = role));
  window.tw = tw;
  window.started = true;
};

/** Sends a string or any JSON value; returns the receipt. */
window.send = (data) => ({ ...window.tw.send(data) });
/** Sends the bytes (an array of numbers) as binary; returns the receipt. */
window.sendBytes = (bytes) => ({ ...window.tw.send(new Uint8Array(bytes)) });
window.stats = () => ({ ...window.tw.stats() });
/** What the outbox holds: its data, oldest first. */
window.outboxData = () => window.tw.outbox().map(({ data }) => describe(data));

/** The localStorage keys under the outbox prefix, sorted. */
window.storedKeys = () => {
  const keys = [];
  for (let index = 0; index < localStorage.length; index += 1) {
    const key = localStorage.key(index);
    if (key !== null && key.startsWith(window.prefix)) keys.push(key);
  }
  return keys.sort();
};

/**
 * Fills localStorage until it refuses even one more character: big values
 * first, then halves. Returns how many characters went in and the name of
 * the error that stopped it (QuotaExceededError).
 */
window.fillStorage = () => {
  let chunk = 1 << 20;
  let chars = 0;
  let stoppedBy = null;
  for (let index = 0; chunk >= 1; index += 1) {
    try {
      localStorage.setItem(`fill:${index}`, "x".repeat(chunk));
      chars += chunk;
    } catch (error) {
      stoppedBy = error.name;
      chunk = Math.floor(chunk / 2);
    }
  }
  return { chars, stoppedBy };
};

/** Removes what fillStorage put in. */
window.unfillStorage = () => {
  for (const key of Object.keys(localStorage)) if (key.startsWith("fill:")) localStorage.removeItem(key);
};

try {
  await init();
  if (query.get("start") !== "manual") window.start();
} catch (error) {
  window.initError = String(error?.stack ?? error);
}
window.ready = true;
