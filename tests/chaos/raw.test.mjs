// The short raw chaos run: tabs on default options (only `url`) against
// Node's `ws` echo server with no options (raw-scenario.mjs) for 30 s of
// faults with a fixed seed, then one test per check. Every message must be
// taken by a socket once and reach the server, unless that socket died
// before its frames left (raw mode is at most once): those are counted
// and reported, not failed; a message sent while down and flushed onto a
// socket that then died counts there too (see raw-checks.mjs).
//
//   node --test tests/chaos/raw.test.mjs

import assert from "node:assert/strict";
import { before, test } from "node:test";

import { formatCounts } from "./report.mjs";
import { RAW_CHECKS, runRaw } from "./raw-scenario.mjs";

const SEED = 20261203;
const DURATION_MS = 30_000;

let run;

before(async () => {
  run = await runRaw({ seed: SEED, durationMs: DURATION_MS, log: (line) => console.log(line) });
  console.log(formatCounts(run.counts));
}, { timeout: DURATION_MS + 230_000 });

test(`raw chaos for ${DURATION_MS / 1000} s (seed ${SEED}): faults were injected, messages sent, none lost but in flight`, () => {
  assert.ok(run.counts.faults >= 5, `faults injected: ${run.counts.faults}`);
  assert.ok(run.counts["faults.restart"] >= 1, `server restarts: ${run.counts["faults.restart"]}`);
  assert.ok(run.counts["messages sent"] > 0, "messages were sent");
  assert.equal(run.counts["lost, never taken by a socket"], 0, "every message was taken by a socket");
  assert.equal(run.counts["lost, taken by a socket that lived on"], 0, "nothing lost from a socket that lived on");
  assert.equal(run.counts["tabwire frames the server got"], 0, "no tabwire frame reached the server");
});

for (const [check, what] of Object.entries(RAW_CHECKS)) {
  test(`raw chaos: ${what}`, () => {
    assert.deepEqual(run.problems[check], [], check);
  });
}
