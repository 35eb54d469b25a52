// Seeded faults, shared by the chaos scenarios (scenario.mjs: channels
// through tabwire-server; raw-scenario.mjs: default options against a
// server tabwire did not write).
//
// Faults come in lanes, each with its own seeded sequence of pauses, kinds
// and durations: the server's and the browser's. Within a lane faults
// follow one another (a tab is never reloaded while its context is
// offline, a server is never restarted while its Redis is down); across
// lanes they overlap. The same seed gives the same sequence of kinds,
// pauses and durations; the browser's own timing still varies.
//
// The browser's faults are the same in both scenarios: a context offline,
// a tab reloaded, the leader tab of the shared group closed (and a new tab
// opened in its place).

import { sleep } from "../e2e/helpers.mjs";

/** mulberry32: a small seeded generator, good enough to pick times and kinds. */
export function random(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    between: (low, high) => Math.round(low + (high - low) * next()),
    /** A key of `weights` ({kind: weight}), with probability proportional to its weight. */
    pick(weights) {
      const entries = Object.entries(weights);
      let roll = next() * entries.reduce((sum, [, weight]) => sum + weight, 0);
      for (const [key, weight] of entries) {
        roll -= weight;
        if (roll < 0) return key;
      }
      return entries.at(-1)[0];
    },
  };
}

/**
 * Runs the server lane and the browser lane of `seed` until `until` (ms
 * since the Unix epoch). Each lane is `{kind: [weight, inject]}`;
 * `inject(rng, injected)` carries the fault out, calling `injected(detail)`
 * as it begins, which counts it in `counts` and logs it. Resolves once
 * both lanes ended (the fault in progress at `until` completes).
 */
export async function runLanes({ seed, until, server, browser, counts, log }) {
  const lane = async (rng, kinds) => {
    const weights = Object.fromEntries(Object.entries(kinds).map(([kind, [weight]]) => [kind, weight]));
    for (;;) {
      await sleep(rng.between(1500, 6000));
      if (Date.now() >= until) return;
      const kind = rng.pick(weights);
      await kinds[kind][1](rng, (detail = "") => {
        counts[kind] = (counts[kind] ?? 0) + 1;
        log(`fault ${kind}${detail ? ` ${detail}` : ""}`);
      });
    }
  };
  await Promise.all([lane(random(seed * 2 + 1), server), lane(random(seed * 2 + 2), browser)]);
}

/**
 * The browser lane over `tabs` (see tabs.mjs): `offline` takes the shared
 * context (or, 30 % of the time, the other one) offline for 1 to 4 s;
 * `reload` reloads a live tab; `closeLeader` closes the shared group's
 * leader and opens a new tab in the shared context with `openShared()`.
 */
export function browserFaults({ tabs, shared, other, openShared, log }) {
  return {
    offline: [2, async (rng, injected) => {
      const alone = rng.next() < 0.3;
      const offlineMs = rng.between(1000, 4000);
      const context = alone ? other : shared;
      await context.setOffline(true);
      injected(`(${alone ? "other context" : "shared context"}, ${offlineMs} ms)`);
      await sleep(offlineMs);
      await context.setOffline(false);
    }],
    reload: [3, async (rng, injected) => {
      const entry = tabs.live[Math.floor(rng.next() * tabs.live.length)];
      injected(`(${entry.name})`);
      await tabs.reload(entry);
    }],
    closeLeader: [2, async (rng, injected) => {
      const leader = await tabs.leaderOf(tabs.live.filter((entry) => entry.context === shared));
      if (!leader) {
        log("no leader to close within 5 s; skipped");
        return;
      }
      injected(`(${leader.name})`);
      await tabs.close(leader);
      await openShared();
    }],
  };
}
