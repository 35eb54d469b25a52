// The chaos soak: a scenario for as long as asked, with a seed (the same
// seed gives the same sequence of fault kinds, pauses and durations; the
// browser's own timing still varies). From the repository root, after
// building (bash scripts/build.sh; cargo build -p tabwire-server):
//
//   node tests/chaos/run.mjs --seed 7 --minutes 10                   channels, on Redis (scenario.mjs)
//   node tests/chaos/run.mjs --seed 7 --minutes 3 --broker memory    channels, on the memory broker
//   node tests/chaos/run.mjs --seed 7 --minutes 3 --raw              default options against ws (raw-scenario.mjs)
//   node tests/chaos/run.mjs --seed 7 --minutes 3 --transport sse      channels, every client on HTTP (server-sent events)
//   node tests/chaos/run.mjs --seed 7 --minutes 3 --transport polling  channels, every client on HTTP (long polls)
//   node tests/chaos/run.mjs --seed 7 --minutes 3 --transport mixed    tabs on sse, polling, defaults in turn; solo polling
//
// --transport (default, sse, polling, mixed, or websocket: never HTTP;
// transports.mjs) goes with either broker. To run another build of the
// server, set TABWIRE_SERVER_BIN (tests/e2e/helpers.mjs).
//
// With --trace FILE, the faults and every page's role changes, states,
// sends, publications, acks and gaps go to FILE too. Prints the faults as
// they are injected, then the counts as a table and every failed check;
// exits 1 if any check failed.

import { parseArgs } from "node:util";

import { RAW_CHECKS, runRaw } from "./raw-scenario.mjs";
import { formatCounts, formatProblems } from "./report.mjs";
import { BROKERS, CHECKS, runChaos, TRANSPORTS } from "./scenario.mjs";

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    minutes: { type: "string", default: "10" },
    tabs: { type: "string", default: "3" },
    broker: { type: "string", default: "redis" },
    transport: { type: "string", default: "default" },
    raw: { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
    trace: { type: "string" },
  },
});
const seed = Number(values.seed);
const minutes = Number(values.minutes);
const tabs = Number(values.tabs);
if (!Number.isInteger(seed) || seed < 0 || !(minutes > 0) || !Number.isInteger(tabs) || tabs < 2
  || !BROKERS.includes(values.broker) || !TRANSPORTS.includes(values.transport)
  || (values.raw && values.transport !== "default")) {
  console.error("usage: node tests/chaos/run.mjs [--seed N] [--minutes M] [--tabs N (2 or more)]"
    + ` [--broker ${BROKERS.join("|")}] [--transport ${TRANSPORTS.join("|")}] [--raw (without --transport)]`
    + " [--quiet] [--trace FILE]");
  process.exit(2);
}

const durationMs = Math.round(minutes * 60_000);
// Whatever happens, this process ends: the faults, the drain and the
// start-up take far less than this.
setTimeout(() => {
  console.error("chaos: the run overran its budget; exiting");
  process.exit(3);
}, durationMs + 240_000).unref();

const log = values.quiet ? () => {} : (line) => console.log(line);
let result;
let checks;
if (values.raw) {
  console.log(`chaos (raw): seed ${seed}, ${minutes} min of faults, ${tabs} tabs and a lone tab on default options against ws`);
  result = await runRaw({ seed, durationMs, tabs, trace: values.trace, log });
  checks = RAW_CHECKS;
} else {
  console.log(`chaos: seed ${seed}, ${minutes} min of faults, ${tabs} tabs and a solo client, ${values.broker} broker,`
    + ` ${values.transport} transport`);
  result = await runChaos({
    seed, durationMs, tabs, broker: values.broker, transport: values.transport, trace: values.trace, log,
  });
  checks = CHECKS;
}
console.log(formatCounts(result.counts));
const failed = formatProblems(result.problems);
if (failed) {
  console.log(`\nfailed checks:\n${failed}`);
  process.exit(1);
}
console.log(`\nevery check passed: ${Object.keys(checks).join(", ")}`);
