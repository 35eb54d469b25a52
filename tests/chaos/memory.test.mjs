// The short chaos run on the memory broker: the channel scenario of
// scenario.mjs for 30 s of faults with a fixed seed, tabwire-server keeping
// the channel in its memory, so that each of its restarts loses the
// channel's history (a new epoch; brokers.mjs reads the old one before the
// kill). Then one test per check. Nothing sent may be lost, and no listener
// may miss a message silently.
//
//   node --test tests/chaos/memory.test.mjs

import assert from "node:assert/strict";
import { before, test } from "node:test";

import { CHECKS, formatCounts, runChaos } from "./scenario.mjs";

const SEED = 20261209;
const DURATION_MS = 30_000;

let run;

before(async () => {
  run = await runChaos({ seed: SEED, durationMs: DURATION_MS, broker: "memory", log: (line) => console.log(line) });
  console.log(formatCounts(run.counts));
}, { timeout: DURATION_MS + 230_000 });

test(`chaos on the memory broker for ${DURATION_MS / 1000} s (seed ${SEED}): faults were injected, the server lost the history twice or more, nothing lost`, () => {
  assert.ok(run.counts.faults >= 5, `faults injected: ${run.counts.faults}`);
  assert.ok(run.counts["faults.restart"] >= 2, `restarts (broker losses): ${run.counts["faults.restart"]}`);
  assert.ok(run.counts["messages sent"] > 0, "messages were sent");
  assert.equal(run.counts.lost, 0, "nothing sent is lost");
  assert.equal(run.counts["lost silently (missing offset without gap)"], 0, "no listener missed a message silently");
});

for (const [check, what] of Object.entries(CHECKS)) {
  test(`chaos on the memory broker: ${what}`, () => {
    assert.deepEqual(run.problems[check], [], check);
  });
}
