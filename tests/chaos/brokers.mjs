// Where the channel scenario's channel lives, and how each broker loses
// it: the ground truth of every history (epoch) the channel had.
//
// - Redis (`redisBroker`): tabwire-server runs with `--redis`; the server
//   lane's `restart` loses nothing (the history stays in Redis), and a
//   `brokerLoss` fault pauses Redis's writers (`CLIENT PAUSE <ms> WRITE`: no
//   publication is stored meanwhile), reads the channel's whole stream and
//   meta (its epoch), then SIGKILLs redis-server and starts an empty one on
//   the same port: the server instances' pub/sub link breaks, they close
//   their subscribers (1012), and the clients resume into a new epoch
//   (`gap` reset).
// - Memory (`memoryBroker`): tabwire-server keeps the channel in memory
//   with a large `--history`, so its `restart` is a broker loss: upgrades
//   are refused and every connection stalled (no frame is handled), the
//   kept history and its epoch are read through `/control/history`, then
//   the server is SIGKILLed and started again (a new epoch). Opening an
//   HTTP session is no upgrade: the server would take it while refusing,
//   and its publications, not stalled, would be stored after the read and
//   lost with the kill; so the browser refuses to open any meanwhile
//   (`refuseSessions`, transports.mjs `sessionGate`).
//
// Either way `epochs()` ends the run with the list of every history, in
// order: `{epoch, newest, messages: [[offset, data as JSON text], ...],
// duplicates}` for each archived one, then the final one.

import { control, sleep } from "../e2e/helpers.mjs";
import { redisCli, startRedis } from "./processes.mjs";

/** The one channel of the scenario. */
export const CHANNEL = "chaos";

/** Reads the channel's history from Redis: meta (offset, epoch) and the whole stream. */
async function readRedis(port, tag) {
  const [offset, epoch] = await redisCli(port, "HMGET", `tabwire:{${CHANNEL}}:meta`, "offset", "epoch");
  const stream = await redisCli(port, "XRANGE", `tabwire:{${CHANNEL}}:history`, "-", "+");
  const messages = stream.map(([id, fields]) => [Number(id.split("-")[1]), fields[fields.indexOf("d") + 1]]);
  const duplicates = Number((await redisCli(port, "GET", `tabwire:duplicates:${tag}`)) ?? 0);
  return { epoch, newest: Number(offset ?? 0), messages, duplicates };
}

/**
 * A Redis for the channel (started here, on `port`), and its `brokerLoss`
 * fault. `tag`: the connections' tag (for the count of duplicates).
 */
export async function redisBroker({ port, deadline, tag, log }) {
  const redis = await startRedis(port, deadline);
  const archive = [];
  return {
    name: "redis",
    serverArgs: ["--redis", redis.url],
    archive,
    /** Adds `brokerLoss` to the server lane; `restart` stays a plain restart. */
    serverFaults: (faults) => ({
      ...faults,
      brokerLoss: [2, async (rng, injected) => {
        const downMs = rng.between(100, 500);
        // Longer than the read takes; the kill ends it.
        await redisCli(port, "CLIENT", "PAUSE", "30000", "WRITE");
        const truth = await readRedis(port, tag);
        if (truth.epoch !== null) archive.push(truth);
        await redis.crash();
        injected(`(epoch ${truth.epoch} ended at offset ${truth.newest}; down ${downMs} ms)`);
        await sleep(downMs);
        await redis.start();
        log(`redis started again on port ${port}`);
      }],
    }),
    /** The channel's newest offset and epoch now. */
    now: () => readRedis(port, tag),
    /** Every history of the channel, the current one last. */
    epochs: async () => [...archive, await readRedis(port, tag)],
    stop: () => redis.stop(),
  };
}

/** Reads the channel's history through the control route, twice in a row alike (no frame handled in between). */
async function readMemory(origin, tag) {
  let last;
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const { epoch, newest, messages } = await control(origin, "history", { channel: CHANNEL });
    const { duplicates } = await control(origin, "stats", { tag });
    const read = { epoch, newest, messages, duplicates };
    if (last && last.epoch === read.epoch && last.newest === read.newest) return read;
    last = read;
    await sleep(100);
  }
  throw new Error(`the history of ${CHANNEL} kept moving while every connection was stalled`);
}

/**
 * The channel kept in tabwire-server's memory; `ws()` gives the server
 * (processes.mjs `wsServer`) once started. Its `restart` archives the
 * history before the kill; `refuseSessions(true)` stops the browser
 * opening HTTP sessions from before the read until the new server is up,
 * `refuseSessions(false)` lets it again.
 */
export function memoryBroker({ ws, tag, refuseSessions = async () => {} }) {
  const archive = [];
  return {
    name: "memory",
    serverArgs: [],
    archive,
    serverFaults: (faults) => ({
      ...faults,
      restart: [3, async (rng, injected) => {
        const downMs = rng.between(100, 500);
        const server = ws();
        await refuseSessions(true);
        await control(server.origin, "refuse", { ms: 60_000 });
        await control(server.origin, "stall");
        const truth = await readMemory(server.origin, tag);
        archive.push(truth);
        await server.stop("SIGKILL");
        injected(`(broker loss: epoch ${truth.epoch} ended at offset ${truth.newest}; down ${downMs} ms)`);
        await sleep(downMs);
        await server.start();
        await refuseSessions(false);
      }],
    }),
    now: () => control(ws().origin, "history", { channel: CHANNEL }),
    epochs: async () => [...archive, await readMemory(ws().origin, tag)],
    stop: async () => {},
  };
}
