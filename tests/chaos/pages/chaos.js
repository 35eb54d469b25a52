// The page of tests/chaos/: one TabWire client that publishes numbered
// messages {tab, seq} to the channel "chaos" at a steady pace and records
// what its listener of that channel receives (subscribed with since: 0):
// each message with its offset and epoch, and each gap event with the
// number of messages received before it, so the test can tell which
// offsets of which epoch a gap covers.
//
// Query: ?options=<TabWire options as JSON>&tab=<name>&everyMs=<pace>
//        [&trace=true][&publish=false]
//
// The tab's name lives in sessionStorage; its highest seq in localStorage
// (`chaos:sent:<tab>`), written just before publish() stores the message
// in the outbox, in the same task, so a reload goes on numbering where the
// last load stopped and the test still knows what a closed tab sent. (A
// page that ends abruptly may lose a suffix of its last writes to storage:
// its last seq may be numbered and not published, never published twice.)
//
// Every `open` of a connection this tab holds (as leader or solo; a
// follower's `open` events are its leader's) is counted by transport in
// `window.opens`.
//
// With &trace=true the page logs its role, states, opens (transport),
// closes, publications (seq and id) and acks to the console as
// `chaos <tab> ...` lines, for the test's trace file.

import init, { TabWire } from "/pkg/tabwire.js";

const query = new URLSearchParams(location.search);
const CHANNEL = "chaos";
const options = JSON.parse(query.get("options"));

const tab = sessionStorage.getItem("chaos:tab") ?? query.get("tab");
sessionStorage.setItem("chaos:tab", tab);
const sentKey = `chaos:sent:${tab}`;
let next = Number(localStorage.getItem(sentKey) ?? "0") + 1;
/** The first seq of this load: the one before it may have been cut by the end of the last load. */
const firstSeq = next;
const loads = Number(sessionStorage.getItem("chaos:loads") ?? "0") + 1;
sessionStorage.setItem("chaos:loads", String(loads));
document.getElementById("tab").textContent = tab;

window.tab = tab;
window.loads = loads;
window.firstSeq = firstSeq;
/** [offset, tab, seq, epoch] of every channel message received since this load. */
window.received = [];
/**
 * Every gap event since this load, with `at`: how many messages came
 * before it, and `nextEpoch`: the epoch of the message that came next.
 */
window.gaps = [];
window.rejected = [];
window.expired = [];
window.refused = 0;
window.errors = [];
window.warnings = [];
window.publishing = false;
/** {transport: count} of the connections this load held that opened. */
window.opens = {};
const trace = query.get("trace") === "true" ? (line) => console.debug(`chaos ${tab} ${line}`) : () => {};

try {
  await init();
  const tw = new TabWire(options);
  tw.on("role", ({ role }) => {
    trace(`role ${role}`);
    document.getElementById("role").textContent = role;
  });
  tw.on("state", ({ state }) => {
    trace(`state ${state}`);
    document.getElementById("state").textContent = state;
  });
  tw.on("gap", (gap) => {
    trace(`gap ${JSON.stringify(gap)} after ${window.received.length} messages`);
    window.gaps.push({ ...gap, at: window.received.length });
  });
  tw.on("ack", ({ id }) => trace(`ack ${id}`));
  tw.on("open", ({ transport }) => {
    const role = tw.stats().role;
    trace(`open ${transport} (${role})`);
    if (role !== "follower") window.opens[transport] = (window.opens[transport] ?? 0) + 1;
  });
  tw.on("close", ({ code, reason }) => trace(`close ${code} ${reason}`));
  tw.on("rejected", (rejected) => window.rejected.push(rejected));
  tw.on("expired", ({ ids }) => window.expired.push(...ids));
  tw.on("warning", ({ key, message }) => window.warnings.push({ key, message }));
  tw.on("error", ({ kind, message }) => {
    if (window.errors.length < 200) window.errors.push({ kind, message });
  });
  tw.subscribe(CHANNEL, ({ data, offset, epoch }) => {
    const last = window.received.at(-1);
    if (last?.[3] !== epoch) trace(`first offset ${offset} of epoch ${epoch}`);
    for (const gap of window.gaps) if (gap.at === window.received.length) gap.nextEpoch = epoch;
    window.received.push([offset, data?.tab, data?.seq, epoch]);
  }, { since: 0 });
  trace(`load ${loads}, next #${next}`);

  const publishNext = () => {
    localStorage.setItem(sentKey, String(next));
    const receipt = tw.publish(CHANNEL, { tab, seq: next });
    if (receipt.status === "refused") {
      window.refused += 1;
      trace(`refused #${next}`);
      localStorage.setItem(sentKey, String(next - 1));
      return;
    }
    trace(`publish #${next} ${receipt.status} ${receipt.id}`);
    next += 1;
  };
  let timer;
  window.startPublishing = () => {
    if (timer === undefined) timer = setInterval(publishNext, Number(query.get("everyMs")));
    window.publishing = true;
  };
  window.stopPublishing = () => {
    clearInterval(timer);
    timer = undefined;
    window.publishing = false;
  };
  window.tw = tw;
  /** What the test reads while waiting for the tabs to drain. */
  window.view = () => {
    const prefix = `tabwire:${options.queue.key}:ob:`;
    let stored = 0;
    for (let index = 0; index < localStorage.length; index += 1) {
      if (localStorage.key(index)?.startsWith(prefix)) stored += 1;
    }
    const last = window.received.at(-1);
    return {
      tab, loads, firstSeq, role: tw.stats().role, state: tw.state, outbox: tw.outbox().length, stored,
      received: window.received.length, lastOffset: last ? last[0] : 0, lastEpoch: last?.[3] ?? null,
    };
  };
  /** Every `chaos:sent:<tab>` of this origin's localStorage (every tab of the context). */
  window.sentCounts = () => {
    const counts = {};
    for (let index = 0; index < localStorage.length; index += 1) {
      const key = localStorage.key(index);
      if (key?.startsWith("chaos:sent:")) counts[key.slice("chaos:sent:".length)] = Number(localStorage.getItem(key));
    }
    return counts;
  };
  if (query.get("publish") !== "false") window.startPublishing();
  window.ready = true;
} catch (error) {
  window.initError = String(error?.stack ?? error);
  window.ready = true;
}
