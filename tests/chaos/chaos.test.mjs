// The short chaos run of scripts/test.sh on Redis: the soak's channel
// scenario (see scenario.mjs and run.mjs) for 75 s of faults with a fixed
// seed, Redis losing its data (brokerLoss) among them, then one test per
// check of the scenario. Nothing sent may be lost, and no listener may
// miss a message silently (every missing offset covered by a gap event).
// The clients run on default options: under faults every few seconds they
// fall back to HTTP and move back to the WebSocket as probes pass, so the
// run covers the moves between transports too; memory.test.mjs runs the same on the memory broker, http.test.mjs with
// the clients on the HTTP transport, raw.test.mjs the default-options
// scenario against a plain ws echo server.
//
//   node --test tests/chaos/

import assert from "node:assert/strict";
import { before, test } from "node:test";

import { CHECKS, formatCounts, runChaos } from "./scenario.mjs";

const SEED = 20261201;
const DURATION_MS = 75_000;

let run;

before(async () => {
  run = await runChaos({ seed: SEED, durationMs: DURATION_MS, broker: "redis", log: (line) => console.log(line) });
  console.log(formatCounts(run.counts));
}, { timeout: DURATION_MS + 230_000 });

test(`chaos on Redis for ${DURATION_MS / 1000} s (seed ${SEED}): faults were injected, Redis lost its data twice or more, nothing lost`, () => {
  assert.ok(run.counts.faults >= 10, `faults injected: ${run.counts.faults}`);
  assert.ok(run.counts["faults.brokerLoss"] >= 2, `broker losses: ${run.counts["faults.brokerLoss"]}`);
  assert.ok(run.counts["messages sent"] > 0, "messages were sent");
  assert.equal(run.counts.lost, 0, "nothing sent is lost");
  assert.equal(run.counts["lost silently (missing offset without gap)"], 0, "no listener missed a message silently");
});

for (const [check, what] of Object.entries(CHECKS)) {
  test(`chaos on Redis: ${what}`, () => {
    assert.deepEqual(run.problems[check], [], check);
  });
}
