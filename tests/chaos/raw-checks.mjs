// The checks of the raw chaos scenario (raw-scenario.mjs): tabs on default
// options against a plain `ws` echo server. In raw mode the client sends
// frames as they are (no ids, no acks): a message sent while down waits in
// the outbox and leaves it once a socket took it; one in flight when a
// connection dies is lost with it (at most once, by design). So: nothing
// of the tabwire protocol on the wire, nothing twice, each tab's order
// kept, and every message taken by a socket once (queued ones when a
// connection opens), missing at the server only if that socket died.
//
// What the browser's sockets took and which of them closed comes from
// Chromium itself (Playwright's `websocket` events: `framesent`, `close`),
// not from the client: a message no socket took is a loss the client
// caused, one whose socket died is the at-most-once of raw mode. A
// message queued while down can be lost that way too: flushed onto a
// socket that opened, then died before the frames left (seen with a
// context offline, whose sockets hold their frames, then terminated).

import { some } from "./report.mjs";

/** The checks of a raw run, each with what it asserts. */
export const RAW_CHECKS = {
  drain: "after the faults every tab is open, every outbox empty (in memory and in localStorage)",
  foreign: "the server got no tabwire frame (hello, msg, ping) and nothing but the tabs' messages; no subprotocol was offered; every open says protocol raw",
  twice: "no message reached the server twice",
  order: "each tab's messages reached the server in the order it sent them, across its reloads",
  queued: "every message sent while down (receipt queued) was taken by a socket once, and reached the server unless that socket died",
  inFlight: "every message sent to an open socket (receipt sent) was taken by a socket once, and reached the server unless that socket died (at most once)",
  echoes: "every echo a tab received is a message the server got, none twice within a load",
  pages: "no uncaught page error, crash or warning event; one leader in the shared group",
};

/** The prefixes of the frames a tabwire client speaks in tabwire mode. */
const PROTOCOL_FRAMES = ['{"type":"msg"', '{"type":"ping"}', '{"type":"hello"'];
const MESSAGE = /^m (\S+) (\d+)$/;

/**
 * Checks the server's side: `connections` (tests/foreign/servers.mjs'
 * record, with `offered`), `arrivals` (every frame in arrival order,
 * `{text, connection}`), against `receipts` (per tab, one letter per seq:
 * `s` sent, `q` queued, `?` numbered when the page ended, sent or not) and the browser's `sockets` (`{id, sent: [text],
 * closed}`). Returns the counts.
 */
export function checkArrivals({ connections, arrivals, receipts, sockets, fail }) {
  const offered = connections.filter((connection) => connection.offered !== null);
  if (offered.length) fail("foreign", `subprotocols offered: ${some(offered.map((c) => `#${c.id} ${c.offered}`))}`);
  const protocolFrames = arrivals.filter(({ text }) => PROTOCOL_FRAMES.some((prefix) => text.startsWith(prefix)));
  if (protocolFrames.length) fail("foreign", `tabwire frames reached the server: ${some(protocolFrames.map(({ text }) => text))}`);
  const strangers = arrivals.filter(({ text }) => !MESSAGE.test(text) && !PROTOCOL_FRAMES.some((prefix) => text.startsWith(prefix)));
  if (strangers.length) fail("foreign", `frames that are no tab's message: ${some(strangers.map(({ text }) => JSON.stringify(text)))}`);

  /** tab -> seq -> the server connection it arrived on (first). */
  const byTab = new Map();
  const twice = [];
  const disorder = [];
  const unexpected = [];
  for (const { text, connection } of arrivals) {
    const match = MESSAGE.exec(text);
    if (!match) continue;
    const [, tab, seqText] = match;
    const seq = Number(seqText);
    if (!(tab in receipts) || seq < 1 || seq > receipts[tab].length) unexpected.push(text);
    const seen = byTab.get(tab) ?? new Map();
    byTab.set(tab, seen);
    const last = Math.max(0, ...seen.keys());
    if (seen.has(seq)) twice.push(`${tab}#${seq} (connections #${seen.get(seq)} and #${connection})`);
    else if (seq < last) disorder.push(`${tab}#${seq} after #${last}`);
    if (!seen.has(seq)) seen.set(seq, connection);
  }
  if (twice.length) fail("twice", `reached the server twice: ${some(twice)}`);
  if (disorder.length) fail("order", `out of the tab's order: ${some(disorder)}`);
  if (unexpected.length) fail("foreign", `messages no tab sent: ${some(unexpected)}`);

  /** text -> the browser's sockets that took it. */
  const takenBy = new Map();
  for (const socket of sockets) {
    for (const text of socket.sent) takenBy.set(text, [...(takenBy.get(text) ?? []), socket]);
  }
  const takenTwice = [...takenBy].filter(([text, by]) => MESSAGE.test(text) && by.length > 1).map(([text]) => text);
  if (takenTwice.length) fail("twice", `taken by the browser's sockets twice: ${some(takenTwice)}`);

  const lostInFlight = { queued: [], sent: [] };
  const neverTaken = { queued: [], sent: [] };
  const lostFromLiveSocket = { queued: [], sent: [] };
  for (const [tab, letters] of Object.entries(receipts)) {
    const seen = byTab.get(tab) ?? new Map();
    for (let seq = 1; seq <= letters.length; seq += 1) {
      if (seen.has(seq) || letters[seq - 1] === "?") continue;
      const how = letters[seq - 1] === "q" ? "queued" : "sent";
      const name = `${tab}#${seq}`;
      const by = takenBy.get(`m ${tab} ${seq}`) ?? [];
      if (!by.length) neverTaken[how].push(name);
      else if (by.every((socket) => socket.closed)) lostInFlight[how].push(`${name} (socket #${by[0].id})`);
      else lostFromLiveSocket[how].push(`${name} (socket #${by.find((socket) => !socket.closed).id})`);
    }
  }
  if (neverTaken.queued.length) fail("queued", `sent while down, never taken by a socket: ${some(neverTaken.queued)}`);
  if (neverTaken.sent.length) fail("inFlight", `sent to an open socket (receipt sent), never taken by a socket: ${some(neverTaken.sent)}`);
  for (const [how, check] of [["queued", "queued"], ["sent", "inFlight"]]) {
    const found = lostFromLiveSocket[how];
    if (found.length) fail(check, `${how}, taken by a socket that lived on, never reached the server: ${some(found)}`);
  }
  return {
    counts: {
      sent: Object.values(receipts).reduce((sum, letters) => sum + letters.length, 0),
      queued: Object.values(receipts).reduce((sum, letters) => sum + letters.split("q").length - 1, 0),
      cutShort: Object.values(receipts).reduce((sum, letters) => sum + letters.split("?").length - 1, 0),
      arrived: arrivals.length,
      lostInFlight: lostInFlight.sent.length,
      queuedLostInFlight: lostInFlight.queued.length,
      neverTaken: neverTaken.queued.length + neverTaken.sent.length,
      lostFromLiveSocket: lostFromLiveSocket.queued.length + lostFromLiveSocket.sent.length,
      twice: twice.length + takenTwice.length,
      disorder: disorder.length,
      protocolFrames: protocolFrames.length,
    },
    lostInFlight: [...lostInFlight.sent, ...lostInFlight.queued.map((name) => `${name} queued`)],
  };
}

/** Checks one load of a tab: its opens said raw, its echoes are messages the server got, each once; no warning. */
export function checkTab({ view, arrived, fail }) {
  const who = `tab ${view.tab} (load ${view.loads})`;
  const notRaw = view.opens.filter((open) => open.protocol !== "raw");
  if (notRaw.length) fail("foreign", `${who} opened connections that are not raw: ${JSON.stringify(notRaw.slice(0, 5))}`);
  const counted = new Map();
  for (const echo of view.echoes) counted.set(echo, (counted.get(echo) ?? 0) + 1);
  const repeated = [...counted].filter(([, times]) => times > 1).map(([echo, times]) => `${echo} ×${times}`);
  const invented = [...counted.keys()].filter((echo) => !arrived.has(echo));
  if (repeated.length) fail("echoes", `${who} received echoes twice: ${some(repeated)}`);
  if (invented.length) fail("echoes", `${who} received echoes of messages the server never got: ${some(invented)}`);
  if (view.warnings.length) fail("pages", `${who} saw warnings: ${JSON.stringify(view.warnings.slice(0, 5))}`);
}
