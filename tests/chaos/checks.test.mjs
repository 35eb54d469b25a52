// The chaos checks themselves, on made-up records (no browser, no server):
// that they pass what the promises allow (a message republished after a
// broker loss, offsets covered by a gap reset, a raw message lost with the
// socket that took it) and catch what they forbid (a silent epoch move, a
// hole, a stray gap, a raw message no socket took, a tabwire frame on a
// raw server). A check that can never fail would make the chaos runs
// vacuous.
//
//   node --test tests/chaos/checks.test.mjs

import assert from "node:assert/strict";
import { test } from "node:test";

import { CHECKS, checkReceived, checkRecord } from "./checks.mjs";
import { checkArrivals, checkTab, RAW_CHECKS } from "./raw-checks.mjs";
import { problemsOf } from "./report.mjs";

const message = (tab, seq) => JSON.stringify({ tab, seq });
/** Two epochs: a#1 a#2 b#1 | a#2 (republished) a#3 b#2. */
const EPOCHS = [
  { epoch: "e0", newest: 3, duplicates: 0, messages: [[1, message("a", 1)], [2, message("a", 2)], [3, message("b", 1)]] },
  { epoch: "e1", newest: 3, duplicates: 0, messages: [[1, message("a", 2)], [2, message("a", 3)], [3, message("b", 2)]] },
];
const SENT = { a: 3, b: 2 };

function record(epochs = EPOCHS, sent = SENT, cut = new Set()) {
  const { problems, fail } = problemsOf(CHECKS);
  return { ...checkRecord({ epochs, sent, cut, fail }), problems };
}

function received(received, gaps = []) {
  const { problems, fail } = problemsOf(CHECKS);
  const view = { tab: "a", loads: 1, received, gaps, rejected: [], expired: [], warnings: [] };
  const result = checkReceived({ view, record: record(), fail });
  return { ...result, failed: Object.keys(problems).filter((check) => problems[check].length) };
}

const reset = (at, from = 1, epoch = "e1") => ({ channel: "chaos", since: 3, from, reason: "reset", epoch, at });
const ALL_OF_E0 = [[1, "a", 1, "e0"], [2, "a", 2, "e0"], [3, "b", 1, "e0"]];
const ALL_OF_E1 = [[1, "a", 2, "e1"], [2, "a", 3, "e1"], [3, "b", 2, "e1"]];

test("checks: a message in flight at the broker loss may be in both epochs, counted as republished", () => {
  const { counts, problems } = record();
  assert.equal(counts.republished, 1);
  assert.equal(counts.lost, 0);
  assert.deepEqual(Object.values(problems).flat(), []);
});

test("checks: a message twice across epochs but not at the loss, or lost, fails the record", () => {
  const early = structuredClone(EPOCHS);
  early[1].messages = [[1, message("a", 3)], [2, message("a", 1)], [3, message("b", 2)]];
  assert.equal(record(early).problems.record.length, 1);
  assert.match(record(EPOCHS, { a: 4, b: 2 }).problems.lost[0], /a#4/);
  const holed = structuredClone(EPOCHS);
  holed[0].messages.splice(1, 1);
  assert.ok(record(holed).problems.record.some((problem) => /offsets are not 1..3/.test(problem)));
});

test("checks: the last seq of a load that ended may be missing, counted as cut short; no other may", () => {
  const cut = record(EPOCHS, { a: 4, b: 2 }, new Set(["a#4"]));
  assert.equal(cut.counts.cutShort, 1);
  assert.equal(cut.counts.lost, 0);
  assert.deepEqual(Object.values(cut.problems).flat(), []);
  const elsewhere = record(EPOCHS, { a: 5, b: 2 }, new Set(["a#5"]));
  assert.match(elsewhere.problems.lost[0], /a#4/, "a hole before the cut seq is lost");
  assert.equal(elsewhere.counts.cutShort, 1);
});

test("checks: offsets missed across a broker loss are covered by the gap reset", () => {
  const result = received([...ALL_OF_E0.slice(0, 2), ...ALL_OF_E1.slice(1)], [reset(2, 2)]);
  assert.deepEqual(result.failed, []);
  assert.equal(result.silent, 0);
  assert.equal(result.covered, 2);
});

test("checks: a move to a new epoch without a gap reset is a silent loss", () => {
  const result = received([...ALL_OF_E0, ...ALL_OF_E1]);
  assert.deepEqual(result.failed, ["delivery"]);
  assert.equal(result.silent, 1);
});

test("checks: a hole, a repeat, a stray gap or an unfinished epoch fail delivery, events or drain", () => {
  const hole = received([ALL_OF_E0[0], ALL_OF_E0[2]], [reset(2)]);
  assert.deepEqual(hole.failed, ["drain", "delivery"]);
  assert.equal(hole.silent, 1 + 3);
  assert.deepEqual(received([...ALL_OF_E0, ALL_OF_E0[2]], [reset(4)]).failed.sort(), ["delivery", "drain"]);
  const trimmed = { ...reset(3), reason: "trimmed", epoch: "e0" };
  assert.deepEqual(received([...ALL_OF_E0, ...ALL_OF_E1], [trimmed, reset(3)]).failed, ["events"]);
  assert.deepEqual(received(ALL_OF_E0.slice(1), [reset(2)]).failed, ["drain", "history"]);
  const misnamed = { ...reset(3), nextEpoch: "e0" };
  assert.deepEqual(received([...ALL_OF_E0, ...ALL_OF_E1], [misnamed]).failed, ["delivery", "events"]);
});

function arrivals(arrived, receipts, sockets = [{ id: 1, sent: arrived.map(({ text }) => text), closed: false }]) {
  const { problems, fail } = problemsOf(RAW_CHECKS);
  const connections = [{ id: 1, offered: null }, { id: 2, offered: null }];
  const result = checkArrivals({ connections, arrivals: arrived, receipts, sockets, fail });
  return { ...result, failed: Object.keys(problems).filter((check) => problems[check].length) };
}

test("raw checks: a message lost with the socket that took it is counted, not failed, queued or not", () => {
  const arrived = [{ text: "m a 1", connection: 1 }, { text: "m a 4", connection: 2 }];
  const sockets = [{ id: 1, sent: ["m a 1", "m a 2", "m a 3"], closed: true }, { id: 2, sent: ["m a 4"], closed: false }];
  const result = arrivals(arrived, { a: "sqss" }, sockets);
  assert.deepEqual(result.failed, []);
  assert.equal(result.counts.lostInFlight, 1);
  assert.equal(result.counts.queuedLostInFlight, 1);
});

test("raw checks: a message numbered as its page ended may have arrived or not", () => {
  const arrived = [{ text: "m a 1", connection: 1 }, { text: "m a 3", connection: 1 }];
  const result = arrivals(arrived, { a: "s?s?" });
  assert.deepEqual(result.failed, []);
  assert.equal(result.counts.cutShort, 2);
  assert.deepEqual(arrivals(arrived, { a: "ss?" }).failed, ["inFlight"], "a letter set is still checked");
});

test("raw checks: never taken, lost from a live socket, twice, out of order or tabwire frames fail", () => {
  const two = [{ text: "m a 1", connection: 1 }, { text: "m a 3", connection: 1 }];
  assert.deepEqual(arrivals(two, { a: "sss" }).failed, ["inFlight"]);
  assert.deepEqual(arrivals(two, { a: "sqs" }).failed, ["queued"]);
  const live = [{ id: 1, sent: ["m a 1", "m a 2", "m a 3"], closed: false }];
  assert.deepEqual(arrivals(two, { a: "sss" }, live).failed, ["inFlight"]);
  assert.deepEqual(arrivals(two, { a: "sqs" }, live).failed, ["queued"]);
  const twice = [{ text: "m a 1", connection: 1 }, { text: "m a 1", connection: 2 }];
  assert.deepEqual(arrivals(twice, { a: "s" }, [{ id: 1, sent: ["m a 1"], closed: true }]).failed, ["twice"]);
  const resent = [{ id: 1, sent: ["m a 1"], closed: true }, { id: 2, sent: ["m a 1"], closed: false }];
  assert.deepEqual(arrivals(twice.slice(0, 1), { a: "s" }, resent).failed, ["twice"]);
  const swapped = [{ text: "m a 2", connection: 1 }, { text: "m a 1", connection: 1 }];
  assert.deepEqual(arrivals(swapped, { a: "ss" }).failed, ["order"]);
  const hello = [{ text: '{"type":"hello","protocol":"tabwire.v1"}', connection: 1 }, { text: "m a 1", connection: 1 }];
  assert.deepEqual(arrivals(hello, { a: "s" }).failed, ["foreign"]);

  const { problems, fail } = problemsOf(RAW_CHECKS);
  const view = { tab: "a", loads: 1, opens: [{ attempt: 0, protocol: "tabwire.v1" }], echoes: ["m a 1", "m a 1"], warnings: [] };
  checkTab({ view, arrived: new Set(["m a 1"]), fail });
  assert.equal(problems.foreign.length, 1);
  assert.equal(problems.echoes.length, 1);
});
