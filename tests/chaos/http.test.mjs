// The short chaos run on the HTTP transport: the channel scenario of
// scenario.mjs on Redis for 40 s of faults with a fixed seed, the clients'
// transports mixed (transports.mjs): the shared group's tabs on
// server-sent events, long polls and the defaults in turn, the solo client
// on long polls. So the shared connection moves between transports as
// leaders close and reload, the followers relaying through a leader's
// HTTP session, while sessions are dropped, stalled, ended by server
// restarts and broker losses, and taken offline. Then one test per check:
// nothing sent may be lost, and no listener may miss a message silently.
// The soaks: `node tests/chaos/run.mjs --seed 7 --minutes 3 --transport
// sse` (or polling, or mixed; see run.mjs).
//
//   node --test tests/chaos/http.test.mjs

import assert from "node:assert/strict";
import { before, test } from "node:test";

import { CHECKS, formatCounts, runChaos } from "./scenario.mjs";

const SEED = 20261235;
const DURATION_MS = 40_000;
const TRANSPORT = "mixed";

let run;

before(async () => {
  run = await runChaos({
    seed: SEED, durationMs: DURATION_MS, broker: "redis", transport: TRANSPORT, log: (line) => console.log(line),
  });
  console.log(formatCounts(run.counts));
}, { timeout: DURATION_MS + 230_000 });

test(`chaos on HTTP (${TRANSPORT}) for ${DURATION_MS / 1000} s (seed ${SEED}): faults hit HTTP sessions, both HTTP transports opened, nothing lost`, () => {
  const opens = run.counts["opens by transport (leaders and solo)"];
  assert.ok(run.counts.faults >= 10, `faults injected: ${run.counts.faults}`);
  assert.ok(run.counts["faults on HTTP (a client on sse or polling)"] >= 8, `faults on HTTP: ${run.counts["faults on HTTP by kind"]}`);
  assert.ok(run.counts["faults.restart"] + run.counts["faults.brokerLoss"] >= 2, "the server or Redis went down twice or more");
  assert.match(opens, /\bsse [1-9]/, `opens on sse: ${opens}`);
  assert.match(opens, /\bpolling [1-9]/, `opens on polling: ${opens}`);
  assert.ok(run.counts["messages sent"] > 0, "messages were sent");
  assert.equal(run.counts.lost, 0, "nothing sent is lost");
  assert.equal(run.counts["lost silently (missing offset without gap)"], 0, "no listener missed a message silently");
});

for (const [check, what] of Object.entries(CHECKS)) {
  test(`chaos on HTTP: ${what}`, () => {
    assert.deepEqual(run.problems[check], [], check);
  });
}
