// The checks of the channel scenario (scenario.mjs), across the epochs of
// the channel: when the broker loses the channel's history (Redis killed,
// or a memory broker's server killed), offsets restart at 1 under a new
// epoch, and the promise becomes "a listener never misses a message
// silently": any offset it did not get is covered by a `gap` event.
//
// The record is the channel's every history in order (archived before
// each broker loss, then the final one), as (epoch, offset, tab, seq).
// `checkRecord` holds it against what the tabs sent; `checkReceived`
// holds each live tab's deliveries (and its gap events, placed between
// them) against it.

import { some } from "./report.mjs";

/** The checks of a run, each with what it asserts. */
export const CHECKS = {
  drain: "after the faults every tab is open, every outbox empty (in memory and in localStorage), every tab caught up with the final epoch",
  lost: "every message a tab sent is in the channel's record (some epoch)",
  record: "each epoch holds offsets 1..N, each (tab, seq) at most once, nothing that was not sent; a message is in two epochs only when it was in flight at the broker loss between them",
  order: "each tab's messages are in the record in the order it sent them (by first occurrence), across its reloads",
  history: "a tab that (re)loaded received the channel's whole history of its epoch (subscribed with since: 0)",
  delivery: "every tab received each message of each epoch once, in offset order, as recorded; every missing offset is covered by a gap event (lost silently: 0)",
  events: "gap events only with reason reset, to a newer epoch (after a broker loss); no rejected, expired or warning event",
  pages: "no uncaught page error or crash; one leader among the tabs; the solo client solo",
};

const range = (from, to) => Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);

/**
 * Checks the channel's histories (`epochs`: `{epoch, newest, messages:
 * [[offset, data text]]}` in order) against what was sent (`sent`: the
 * highest seq of each tab; `cut`: the `tab#seq` a page's end may have
 * stopped between numbering it and publishing it: the last of each load
 * that ended, which may be missing). Returns the record (`epochs` with `entries`
 * `[offset, tab, seq]` and `byOffset`, `index`: epoch -> its position) and
 * the counts.
 */
export function checkRecord({ epochs, sent, cut = new Set(), fail }) {
  const index = new Map();
  const record = epochs.map(({ epoch, newest, messages }, at) => {
    if (index.has(epoch)) fail("record", `epoch ${epoch} names two histories (#${index.get(epoch)} and #${at})`);
    index.set(epoch, at);
    const entries = messages.map(([offset, text]) => {
      let data;
      try {
        data = JSON.parse(text);
      } catch {
        data = undefined;
      }
      return [offset, data?.tab, data?.seq];
    });
    const offsets = entries.map(([offset]) => offset);
    if (offsets.join() !== range(1, newest).join()) {
      fail("record", `epoch #${at} (${epoch}): offsets are not 1..${newest}: ${offsets.length} entries from ${offsets[0]} to ${offsets.at(-1)}`);
    }
    return { epoch, newest, entries, byOffset: new Map(entries.map((entry) => [entry[0], entry])) };
  });

  /** `tab#seq` -> the epochs (positions) it is in, in order. */
  const occurrences = new Map();
  const duplicates = [];
  const unexpected = [];
  for (const [at, { entries }] of record.entries()) {
    const here = new Map();
    for (const [offset, tab, seq] of entries) {
      const key = `${tab}#${seq}`;
      if (here.has(key)) duplicates.push(`${key} at ${here.get(key)} and ${offset} of epoch #${at}`);
      else here.set(key, offset);
      if (!(tab in sent) || !Number.isInteger(seq) || seq < 1 || seq > sent[tab]) unexpected.push(`${key} at ${offset} of epoch #${at}`);
      const list = occurrences.get(key) ?? [];
      if (list.at(-1) !== at) list.push(at);
      occurrences.set(key, list);
    }
  }

  // A message in two epochs: stored before the broker loss, its ack lost
  // with it, resent after. Such messages are, for each tab, the last it
  // had in the old epoch and the first it has in the new one.
  let republished = 0;
  const notInFlight = [];
  for (const [key, list] of occurrences) {
    republished += list.length - 1;
    if (list.some((at, position) => position > 0 && at !== list[position - 1] + 1)) {
      notInFlight.push(`${key} in epochs #${list.join(", #")}`);
    }
  }
  const seqsOf = (at, tab) => record[at].entries.filter((entry) => entry[1] === tab).map(([, , seq]) => seq);
  for (let at = 0; at + 1 < record.length; at += 1) {
    for (const tab of Object.keys(sent)) {
      const before = seqsOf(at, tab);
      const after = seqsOf(at + 1, tab);
      const both = new Set(before.filter((seq) => after.includes(seq)));
      if (!both.size) continue;
      const tail = before.slice(-both.size);
      const head = after.slice(0, both.size);
      if (!tail.every((seq) => both.has(seq)) || !head.every((seq) => both.has(seq))) {
        notInFlight.push(`${tab}#${[...both].join(",#")} in epochs #${at} and #${at + 1}, not the last of one and the first of the other`);
      }
    }
  }

  const lost = [];
  let cutShort = 0;
  for (const [tab, count] of Object.entries(sent)) {
    for (let seq = 1; seq <= count; seq += 1) {
      const key = `${tab}#${seq}`;
      if (occurrences.has(key)) continue;
      if (cut.has(key)) cutShort += 1;
      else lost.push(key);
    }
  }
  const disorder = [];
  const firstSeen = new Set();
  const lastSeq = new Map();
  for (const [at, { entries }] of record.entries()) {
    for (const [offset, tab, seq] of entries) {
      const key = `${tab}#${seq}`;
      if (firstSeen.has(key)) continue;
      firstSeen.add(key);
      if (lastSeq.has(tab) && seq <= lastSeq.get(tab)) disorder.push(`${key} at ${offset} of epoch #${at} after #${lastSeq.get(tab)}`);
      lastSeq.set(tab, Math.max(seq, lastSeq.get(tab) ?? 0));
    }
  }
  if (lost.length) fail("lost", `lost (sent, in no epoch of the record): ${some(lost)}`);
  if (duplicates.length) fail("record", `published twice within one epoch: ${some(duplicates)}`);
  if (notInFlight.length) fail("record", `in several epochs though not in flight at the broker loss: ${some(notInFlight)}`);
  if (unexpected.length) fail("record", `in the record but never sent: ${some(unexpected)}`);
  if (disorder.length) fail("order", `out of the tab's order: ${some(disorder)}`);
  return {
    record,
    index,
    counts: {
      messages: record.reduce((sum, { entries }) => sum + entries.length, 0),
      lost: lost.length,
      cutShort,
      duplicates: duplicates.length,
      republished,
      unexpected: unexpected.length,
      disorder: disorder.length,
    },
  };
}

/**
 * Checks what a tab received since it loaded (`view.received`:
 * `[offset, tab, seq, epoch]`; `view.gaps`: gap events, each with `at`,
 * the number of messages received before it, and `nextEpoch`, the epoch
 * of the message after it, if any) against the record: walking
 * its deliveries and gaps in order, with its position (epoch, offset),
 * starting at offset 0 of the first epoch it hears of (subscribed with
 * since: 0). A live tab must have caught up with the end of the record; a
 * load that `ended` (reloaded or closed on the way) only up to where it
 * was. Returns `{silent, covered}`: offsets it missed without and with a
 * gap event.
 */
export function checkReceived({ view, record: { record, index }, fail, ended = false }) {
  const { received, gaps } = view;
  const who = `tab ${view.tab} (load ${view.loads})`;
  const got = record.map(() => new Set());
  const missing = (at, after, upTo = Infinity) =>
    record[at].entries.filter(([offset]) => offset > after && offset <= upTo && !got[at].has(offset)).map(([offset]) => offset);
  const between = (from, to) => range(from + 1, to - 1).reduce((sum, at) => sum + record[at].entries.length, 0);
  let at; // the position of the epoch it is in
  let position = 0;
  let sinceLoad = true; // no gap and no message yet
  let silent = 0;
  let covered = 0;
  const history = [];
  const holes = [];
  const moves = [];
  const repeated = [];
  const disorder = [];
  const wrong = [];
  const badGaps = [];
  const items = [];
  for (let next = 0, gap = 0; next <= received.length; next += 1) {
    for (; gap < gaps.length && gaps[gap].at <= next; gap += 1) items.push({ gap: gaps[gap] });
    if (next < received.length) items.push({ message: received[next] });
  }
  for (const item of items) {
    if (item.gap) {
      const { reason, from, epoch, nextEpoch = epoch } = item.gap;
      const to = index.get(nextEpoch);
      sinceLoad = false;
      if (reason === "reset" && epoch === nextEpoch && to !== undefined && to > (at ?? 0)) {
        if (at !== undefined) covered += missing(at, position).length + between(at, to);
        covered += missing(to, 0, from - 1).length;
        at = to;
        position = from - 1;
      } else {
        badGaps.push(JSON.stringify(item.gap));
        if (reason === "trimmed" && to === at && at !== undefined) {
          covered += missing(at, position, from - 1).length;
          position = Math.max(position, from - 1);
        }
      }
      continue;
    }
    const [offset, tab, seq, epoch] = item.message;
    const to = index.get(epoch);
    if (to === undefined) {
      wrong.push(`${offset} of unknown epoch ${epoch}: ${tab}#${seq}`);
      continue;
    }
    if (at === undefined) {
      at = to;
    } else if (to !== at) {
      const lostHere = to > at ? missing(at, position).length + between(at, to) : 0;
      moves.push(`from epoch #${at} at ${position} to #${to} at ${offset}${to < at ? " (backwards)" : ""}, ${lostHere} missed`);
      silent += Math.max(1, lostHere);
      at = to;
      position = 0;
    }
    if (offset <= position) {
      (got[at].has(offset) ? repeated : disorder).push(`${offset} of epoch #${at}`);
    } else {
      const missed = missing(at, position, offset - 1);
      if (missed.length) (sinceLoad ? history : holes).push(`${some(missed)} of epoch #${at} before ${offset}`);
      silent += missed.length;
      position = offset;
    }
    sinceLoad = false;
    const kept = record[at].byOffset.get(offset);
    if (!kept || kept[1] !== tab || kept[2] !== seq) wrong.push(`${offset} of epoch #${at}: ${tab}#${seq}`);
    got[at].add(offset);
  }
  const last = record.length - 1;
  const behind = ended ? 0 : at === undefined ? record[last].entries.length : missing(at, position).length + between(at, last + 1);
  if (behind) fail("drain", `${who} did not receive the last ${behind} messages of the record (it is at ${position} of epoch #${at})`);
  silent += behind;
  if (history.length) fail("history", `${who} missed the history before its first message: ${history.join("; ")}`);
  if (holes.length) fail("delivery", `${who} missed offsets without a gap: ${some(holes)}`);
  if (moves.length) fail("delivery", `${who} moved to another epoch without a gap reset: ${some(moves)}`);
  if (repeated.length) fail("delivery", `${who} received twice: ${some(repeated)}`);
  if (disorder.length) fail("delivery", `${who} received out of offset order: ${some(disorder)}`);
  if (wrong.length) fail("delivery", `${who} received messages unlike the record: ${some(wrong)}`);
  if (badGaps.length) fail("events", `${who} saw gap events other than a reset to a newer epoch: ${some(badGaps)}`);
  if (view.rejected.length) fail("events", `${who} saw rejected messages: ${JSON.stringify(view.rejected.slice(0, 5))}`);
  if (view.expired.length) fail("events", `${who} saw expired messages: ${some(view.expired)}`);
  if (view.warnings.length) fail("events", `${who} saw warnings: ${JSON.stringify(view.warnings.slice(0, 5))}`);
  return { silent, covered };
}
