// The short chaos run of scripts/test.sh: the soak's scenario (see
// scenario.mjs and run.mjs) for 75 s of faults with a fixed seed, then one
// test per check of the scenario. Nothing sent may be lost.
//
//   node --test tests/chaos/

import assert from "node:assert/strict";
import { before, test } from "node:test";

import { CHECKS, formatCounts, runChaos } from "./scenario.mjs";

const SEED = 20261201;
const DURATION_MS = 75_000;

let run;

before(async () => {
  run = await runChaos({ seed: SEED, durationMs: DURATION_MS, log: (line) => console.log(line) });
  console.log(formatCounts(run.counts));
}, { timeout: DURATION_MS + 230_000 });

test(`chaos for ${DURATION_MS / 1000} s (seed ${SEED}): faults were injected, messages sent, none lost`, () => {
  assert.ok(run.counts.faults >= 10, `faults injected: ${run.counts.faults}`);
  assert.ok(run.counts["messages sent"] > 0, "messages were sent");
  assert.equal(run.counts.lost, 0, "nothing sent is lost");
});

for (const [check, what] of Object.entries(CHECKS)) {
  test(`chaos: ${what}`, () => {
    assert.deepEqual(run.problems[check], [], check);
  });
}
