// Which transport carries each client of the channel scenario
// (scenario.mjs), and what the run tells of the HTTP transport (the
// tabwire frames over server-sent events or long polls; docs/PROTOCOL.md):
//
// - "default": every client on its default `transports` (the WebSocket,
//   falling back to HTTP by itself should the WebSocket keep failing, as
//   the faults may make it);
// - "sse", "polling" or "websocket": every client forced onto it
//   (`transports: ["sse"]`; "websocket": never HTTP);
// - "mixed": the shared group's tabs in turn by their number: t1, t4, ...
//   on "sse", t2, t5, ... on "polling", t3, t6, ... on the defaults, and
//   the solo client on "polling". A leader closed or reloaded hands the
//   connection to a tab that may carry it otherwise, and the followers
//   move with it; a reload keeps a tab's options (they are in its URL).
//
// The faults are the same on every transport: on the server a `drop` ends
// the HTTP sessions as it ends the sockets (1006), a `stall` holds their
// sends and frames, a restart ends them all. Each fault is counted "on
// HTTP" when a leader or the solo client was on sse or polling as it began
// (`onHttpFaults`).
//
// Opening an HTTP session is not an upgrade: the server's
// `/control/refuse` leaves it alone (HTTP is the way around whatever
// refuses upgrades). Where a fault needs no new connection to reach the
// server for a while (the memory broker's restart reads the history it
// is about to lose), `sessionGate` refuses new HTTP sessions in the
// browser, as the server refuses the upgrades; the sends and polls of
// open sessions pass (the server stalls them).

import { withTimeout } from "../e2e/helpers.mjs";

/** The transport choices of the scenario. */
export const TRANSPORTS = ["default", "sse", "polling", "mixed", "websocket"];

/** The HTTP transports, as `transports` and `open` events name them. */
const HTTP = ["sse", "polling"];
/** The turn of "mixed" for the shared group's tabs (undefined: the defaults). */
const MIXED_TURN = ["sse", "polling", undefined];

/**
 * The `transports` option of a client under the choice `transport`:
 * `{transports: [...]}`, or `{}` for the defaults. `client`: `{share,
 * number}` (the tab's number in the shared group, from 1).
 */
export function transportsOption(transport, { share, number }) {
  if (!TRANSPORTS.includes(transport)) throw new Error(`unknown transport ${transport}: ${TRANSPORTS.join(", ")}`);
  let name;
  if (transport === "mixed") name = share ? MIXED_TURN[(number - 1) % MIXED_TURN.length] : "polling";
  else if (transport !== "default") name = transport;
  return name ? { transports: [name] } : {};
}

/**
 * The live tabs (tabs.mjs) holding a connection on HTTP now, leaders and
 * solo clients, as `name:transport`; a tab that does not answer within a
 * second (loading) is left out.
 */
export async function clientsOnHttp(tabs) {
  const read = () => {
    const stats = window.tw?.stats();
    return stats && stats.role !== "follower" ? stats.transport ?? null : null;
  };
  const answers = await Promise.allSettled(tabs.live.map((entry) =>
    withTimeout(entry.page.evaluate(read), 1000, `${entry.name}'s transport`).then((name) => [entry.name, name])));
  return answers
    .filter((answer) => answer.status === "fulfilled" && HTTP.includes(answer.value[1]))
    .map(({ value: [name, transport] }) => `${name}:${transport}`);
}

/**
 * The fault lane `lane` (`{kind: [weight, inject]}`, faults.mjs) with each
 * fault counted in `counts[kind]` when a client was on HTTP as it began
 * (`clientsOnHttp(tabs)`), and those clients named in its log line.
 */
export function onHttpFaults(lane, { tabs, counts }) {
  return Object.fromEntries(Object.entries(lane).map(([kind, [weight, inject]]) => [kind, [weight, async (rng, injected) => {
    const http = await clientsOnHttp(tabs);
    await inject(rng, (detail = "") => {
      if (http.length) counts[kind] = (counts[kind] ?? 0) + 1;
      injected(http.length ? `${detail}${detail ? " " : ""}[on HTTP: ${http.join(" ")}]` : detail);
    });
  }]]));
}

/**
 * Refuses, in the browser `contexts`, the requests that open an HTTP
 * session with the server on `port`, while `set(true)` holds (until
 * `set(false)`): they fail as a refused connection would. `refused`
 * counts them.
 */
export function sessionGate({ contexts, port }) {
  const opening = (url) => url.port === String(port) && url.pathname === "/ws"
    && url.searchParams.has("transport") && !url.searchParams.has("session");
  const refuse = (route) => {
    gate.refused += 1;
    return route.abort("connectionrefused");
  };
  let closed = false;
  const gate = {
    refused: 0,
    async set(close) {
      if (close === closed) return;
      closed = close;
      await Promise.all(contexts().map((context) => (close ? context.route(opening, refuse) : context.unroute(opening, refuse))));
    },
  };
  return gate;
}

/** `{transport: count}` summed over `opens` (one such object per load), as "sse 3, polling 1". */
export function formatOpens(opens) {
  const total = {};
  for (const load of opens) for (const [name, count] of Object.entries(load ?? {})) total[name] = (total[name] ?? 0) + count;
  return Object.entries(total).map(([name, count]) => `${name} ${count}`).join(", ") || "-";
}
