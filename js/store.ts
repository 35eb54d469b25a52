/**
 * `tabwire/store`: what a dashboard shows about a connection (its state,
 * the next retry, this tab's role, the tabs sharing it, the outbox, the
 * round trip) as one immutable snapshot behind the `subscribe` /
 * `getSnapshot` pair that every framework adapts to. The snapshot is a new
 * object only when something in it changed, so `useSyncExternalStore` does
 * not loop and `===` tells a change.
 *
 * ```ts
 * import { connectionStore } from "tabwire/store";
 * const store = connectionStore(client);
 *
 * // React (or use tabwire/react's useConnectionState):
 * const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot);
 *
 * // Zustand:
 * const useConnection = create<ConnectionSnapshot>(() => store.getSnapshot());
 * store.subscribe((snapshot) => useConnection.setState(snapshot, true));
 *
 * // Svelte:
 * const connection = readable(store.getSnapshot(), (set) => store.subscribe(set));
 *
 * // Vue (in setup):
 * const connection = shallowRef(store.getSnapshot());
 * onScopeDispose(store.subscribe((snapshot) => (connection.value = snapshot)));
 * ```
 *
 * The store listens to the client only while it has subscribers, so a
 * store nobody subscribes to costs nothing. Unsubscribe before
 * `client.free()`: a freed client has no stats to read.
 *
 * @module
 */
import type { ProtocolName, RoleName, StateName, Stats, TabWire, TabWireEventName, TransportName } from "./tabwire.js";

/** A connection as a dashboard shows it. Frozen; replaced, never changed. */
export interface ConnectionSnapshot {
  /** The connection's state (in a follower tab, the shared connection's). */
  readonly state: StateName;
  /** 0 for the first connection, n while working on the n-th retry (from the latest `state` event seen while subscribed). */
  readonly attempt: number;
  /** While `reconnecting`: when the next attempt starts (Unix epoch ms). */
  readonly retryAt?: number;
  /** This tab's part in the shared connection. */
  readonly role: RoleName;
  /** How many tabs share the connection, this one included. */
  readonly tabs: number;
  /** What the open connection speaks: "tabwire.v1" (acknowledged delivery, channels) or "raw"; absent while none is open. */
  readonly protocol?: ProtocolName;
  /** What carries the open connection: "websocket", or HTTP where a proxy breaks WebSockets ("sse", "polling"); absent while none is open. */
  readonly transport?: TransportName;
  /** Undelivered messages (the outbox). */
  readonly queued: number;
  /** Round trip of the last answered heartbeat ping, in ms. */
  readonly lastRttMs?: number;
}

export interface ConnectionStore {
  /** Calls `listener` at once with the current snapshot, then with each new one; returns a function that stops it. */
  subscribe(listener: (snapshot: ConnectionSnapshot) => void): () => void;
  /** The current snapshot: the same object until something in it changes. */
  getSnapshot(): ConnectionSnapshot;
}

export interface ConnectionStoreOptions {
  /**
   * How often, in ms, `stats()` is read again while subscribed, for what
   * no event announces: the round trip of a heartbeat, the queued count
   * after a `send()`, tabs joining or leaving. Default 1000; 0: never.
   */
  pollMs?: number;
}

/** The events after which the snapshot may differ (`state` is listened to apart, for its attempt). */
const CHANGES: readonly TabWireEventName[] = ["open", "close", "reconnecting", "role", "ack", "rejected", "expired"];

const FIELDS = ["state", "attempt", "retryAt", "role", "tabs", "protocol", "transport", "queued", "lastRttMs"] as const satisfies readonly (keyof ConnectionSnapshot)[];

function snapshotOf({ state, role, tabs, protocol, transport, queued, retryAt, lastRttMs }: Stats, attempt: number): ConnectionSnapshot {
  return Object.freeze({ state, attempt, retryAt, role, tabs, protocol, transport, queued, lastRttMs });
}

function same(a: ConnectionSnapshot, b: ConnectionSnapshot): boolean {
  return FIELDS.every((field) => a[field] === b[field]);
}

/** A store of `client`'s connection; see the module's documentation. */
export function connectionStore(client: TabWire, { pollMs = 1000 }: ConnectionStoreOptions = {}): ConnectionStore {
  // One entry per subscribe() call, so that the same function subscribed
  // twice and unsubscribed once stays subscribed once.
  const listeners = new Set<{ notify: (snapshot: ConnectionSnapshot) => void }>();
  let attempt = 0;
  let snapshot = snapshotOf(client.stats(), attempt);
  let detach: (() => void) | undefined;

  /** Reads the client again; returns whether the snapshot changed. */
  const reread = (): boolean => {
    const next = snapshotOf(client.stats(), attempt);
    if (same(next, snapshot)) return false;
    snapshot = next;
    return true;
  };
  const announce = (): void => {
    for (const listener of [...listeners]) listener.notify(snapshot);
  };
  const refresh = (): void => {
    if (reread()) announce();
  };
  const attach = (): (() => void) => {
    const removers = [
      client.on("state", (event) => {
        attempt = event.attempt;
        refresh();
      }),
      ...CHANGES.map((name) => client.on(name, refresh)),
    ];
    const timer = pollMs > 0 ? setInterval(refresh, pollMs) : undefined;
    return () => {
      clearInterval(timer);
      for (const remove of removers) remove();
    };
  };

  return {
    subscribe(notify) {
      const entry = { notify };
      listeners.add(entry);
      if (listeners.size === 1) detach = attach();
      // At once with the current snapshot, which may have moved on since the
      // subscriber read it (Svelte's store contract; harmless elsewhere: an
      // unchanged snapshot is the same object).
      if (reread()) announce();
      else notify(snapshot);
      return () => {
        if (!listeners.delete(entry) || listeners.size > 0) return;
        detach?.();
        detach = undefined;
      };
    },
    getSnapshot() {
      // While subscribed, events and the poll keep it current (and tell the
      // listeners); reading here would change it unannounced, in the middle
      // of a framework's render.
      if (detach === undefined) reread();
      return snapshot;
    },
  };
}
