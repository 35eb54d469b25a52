// The page of the raw chaos scenario (raw-scenario.mjs): one TabWire
// client whose options are only `{ url }` (sharing on, everything else
// default), against a server tabwire did not write. It sends numbered text
// messages `m <tab> <seq>` with send() at a steady pace and records the
// echoes its `message` listeners get and every `open` event.
//
// Query: ?url=<WebSocket URL>&tab=<name>&everyMs=<pace>[&trace=true]
//
// The tab's name lives in sessionStorage; its receipts in localStorage
// (`raw:receipts:<tab>`, one letter per seq from 1: `s` sent to an open
// socket, `q` queued while down), beside tabwire's outbox, so a reload goes
// on numbering where the last load stopped. A seq is numbered (`?`) before
// send() takes it and its letter set in the same task after: a page that
// ends abruptly loses a suffix of its last writes to storage, never one in
// the middle, so the next load never gives a seq to a second message, and
// a `?` left is a message the page's end may have stopped before or
// after send().
//
// With &trace=true the page logs its role, states, opens, closes and sends
// to the console as `chaos <tab> ...` lines, for the test's trace file.

import init, { TabWire } from "/pkg/tabwire.js";

const query = new URLSearchParams(location.search);
const url = query.get("url");

const tab = sessionStorage.getItem("chaos:tab") ?? query.get("tab");
sessionStorage.setItem("chaos:tab", tab);
const receipts = `raw:receipts:${tab}`;
let next = (localStorage.getItem(receipts) ?? "").length + 1;
const loads = Number(sessionStorage.getItem("chaos:loads") ?? "0") + 1;
sessionStorage.setItem("chaos:loads", String(loads));
document.getElementById("tab").textContent = tab;

window.tab = tab;
window.loads = loads;
/** The data of every `message` event since this load (binary as `binary:<bytes>`). */
window.echoes = [];
/** The payload of every `open` event since this load. */
window.opens = [];
window.refused = 0;
window.errors = [];
window.warnings = [];
const trace = query.get("trace") === "true" ? (line) => console.debug(`chaos ${tab} ${line}`) : () => {};

try {
  await init();
  const tw = new TabWire({ url });
  tw.on("role", ({ role }) => {
    trace(`role ${role}`);
    document.getElementById("role").textContent = role;
  });
  tw.on("state", ({ state }) => {
    trace(`state ${state}`);
    document.getElementById("state").textContent = state;
  });
  tw.on("open", (open) => {
    trace(`open ${JSON.stringify(open)}`);
    window.opens.push({ ...open });
  });
  tw.on("close", ({ code, reason }) => trace(`close ${code} ${reason}`));
  tw.on("message", ({ data }) => window.echoes.push(typeof data === "string" ? data : `binary:${data.byteLength}`));
  tw.on("warning", ({ key, message }) => window.warnings.push({ key, message }));
  tw.on("error", ({ kind, message }) => {
    if (window.errors.length < 200) window.errors.push({ kind, message });
  });

  const sendNext = () => {
    const before = localStorage.getItem(receipts) ?? "";
    localStorage.setItem(receipts, `${before}?`);
    const receipt = tw.send(`m ${tab} ${next}`);
    if (receipt.status === "refused") {
      window.refused += 1;
      trace(`refused #${next}`);
      localStorage.setItem(receipts, before);
      return;
    }
    trace(`send #${next} ${receipt.status}`);
    localStorage.setItem(receipts, before + (receipt.status === "sent" ? "s" : "q"));
    next += 1;
  };
  let timer;
  window.stopPublishing = () => {
    clearInterval(timer);
    timer = undefined;
  };
  window.tw = tw;
  /** The outbox's localStorage prefix: the namespace is the URL without its query. */
  const prefix = `tabwire:${url.split(/[?#]/)[0]}:ob:`;
  /** What the test reads while waiting for the tabs to drain. */
  window.view = () => {
    let stored = 0;
    for (let index = 0; index < localStorage.length; index += 1) {
      if (localStorage.key(index)?.startsWith(prefix)) stored += 1;
    }
    return { tab, loads, role: tw.stats().role, state: tw.state, outbox: tw.outbox().length, stored, echoes: window.echoes.length };
  };
  /** Every `raw:receipts:<tab>` of this origin's localStorage (every tab of the context). */
  window.receipts = () => {
    const all = {};
    for (let index = 0; index < localStorage.length; index += 1) {
      const key = localStorage.key(index);
      if (key?.startsWith("raw:receipts:")) all[key.slice("raw:receipts:".length)] = localStorage.getItem(key);
    }
    return all;
  };
  timer = setInterval(sendNext, Number(query.get("everyMs")));
  window.ready = true;
} catch (error) {
  window.initError = String(error?.stack ?? error);
  window.ready = true;
}
