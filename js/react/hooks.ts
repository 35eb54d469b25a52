import { useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from "react";

import type { ConnectionSnapshot, ConnectionStore } from "../store.js";
import type { ChannelMessage, SubscribeOptions, TabWireEventMap, TabWireEventName } from "../tabwire.js";
import { useShared, useTabWire } from "./provider.js";

// A layout effect runs before the browser can deliver any event to the new
// render; on a server (no document) React 18 warns about layout effects,
// and nothing is delivered there anyway.
const useBeforeEvents = typeof document === "undefined" ? useEffect : useLayoutEffect;

/**
 * A ref that holds the `value` of the latest render. A subscription made
 * once calls `ref.current`, so a listener written inline (a new function at
 * every render) is always the latest one and never resubscribes.
 */
function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  useBeforeEvents(() => {
    ref.current = value;
  });
  return ref;
}

/** The connection before its client exists (the WebAssembly is loading). */
const BEFORE_CLIENT: ConnectionSnapshot = Object.freeze({ state: "idle", attempt: 0, role: "solo", tabs: 1, queued: 0 });
const NOT_YET: ConnectionStore = {
  subscribe: () => () => {},
  getSnapshot: () => BEFORE_CLIENT,
};

/**
 * The provider's connection as a dashboard shows it (state, attempt,
 * retryAt, role, tabs, protocol, queued, lastRttMs); the component renders again
 * when it changes. `idle` until the client exists.
 */
export function useConnectionState(): ConnectionSnapshot {
  const { subscribe, getSnapshot } = useShared()?.connection ?? NOT_YET;
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
}

/**
 * Subscribes to `channel` while the component is mounted (again when
 * `channel` or `options.since` changes) and returns the latest message
 * this component received on it, `undefined` before the first. `onMessage`,
 * if given, is called with every message; it may be a new function at
 * every render without resubscribing.
 */
export function useChannel<T = unknown>(
  channel: string,
  onMessage?: (message: ChannelMessage<T>) => void,
  options?: SubscribeOptions,
): ChannelMessage<T> | undefined {
  const client = useTabWire();
  const listener = useLatest(onMessage);
  const [latest, setLatest] = useState<{ channel: string; message: ChannelMessage<T> }>();
  const since = options?.since;
  useEffect(
    () =>
      client?.subscribe<T>(
        channel,
        (message) => {
          setLatest({ channel, message });
          listener.current?.(message);
        },
        { since },
      ),
    [client, channel, since, listener],
  );
  return latest?.channel === channel ? latest.message : undefined;
}

/**
 * Calls `listener` with every JSON frame whose type field is `type` (see
 * `onType`) while the component is mounted; an inline listener does not
 * resubscribe.
 */
export function useOnType<T = unknown>(type: string, listener: (message: T) => void): void {
  const client = useTabWire();
  const latest = useLatest(listener);
  useEffect(() => client?.onType<T>(type, (message) => latest.current(message)), [client, type, latest]);
}

/**
 * Calls `listener` with every `name` event of the client (`ack`, `error`,
 * `gap`, ...) while the component is mounted; an inline listener does not
 * resubscribe.
 */
export function useTabWireEvent<K extends TabWireEventName>(name: K, listener: (event: TabWireEventMap[K]) => void): void {
  const client = useTabWire();
  const latest = useLatest(listener);
  useEffect(() => client?.on(name, (event) => latest.current(event)), [client, name, latest]);
}
