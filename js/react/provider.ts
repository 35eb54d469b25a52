import { createContext, createElement, useContext, useEffect, useRef, useState, type ReactElement, type ReactNode } from "react";

import { connectionStore, type ConnectionStore } from "../store.js";
import init, { TabWire, type TabWireOptions } from "../tabwire.js";

/** What a provider shares with the hooks below it once its client exists. */
interface Shared {
  readonly client: TabWire;
  /** The one store of the client's connection, shared by every `useConnectionState`. */
  readonly connection: ConnectionStore;
}

/** `undefined`: no provider above; `null`: its client does not exist (yet, or any more). */
const TabWireContext = createContext<Shared | null | undefined>(undefined);

export interface TabWireProviderProps {
  /**
   * The client's options, read once when the provider mounts: a later
   * change has no effect (an inline object may be new at every render).
   * To connect anew with other options, give the provider a new `key`.
   */
  options: TabWireOptions;
  children?: ReactNode;
}

/**
 * Owns one TabWire client for the components below it: loads the
 * WebAssembly (`init()`), creates the client, and frees it (closing its
 * socket) when the provider unmounts. Children render at once; the hooks
 * see no client until it exists. An `init()` or option error is thrown
 * from the provider's render, to the nearest error boundary.
 *
 * Under StrictMode, React mounts, unmounts and mounts again at once: the
 * first mount's `init()` has not resolved by then, so its client is never
 * created, and exactly one client (one socket) remains.
 */
export function TabWireProvider({ options, children }: TabWireProviderProps): ReactElement {
  const firstOptions = useRef(options);
  const [shared, setShared] = useState<Shared | null>(null);
  const [failure, setFailure] = useState<{ error: unknown }>();
  if (failure) throw failure.error;

  useEffect(() => {
    let mounted = true;
    let client: TabWire | undefined;
    init().then(
      () => {
        if (!mounted) return;
        try {
          client = new TabWire(firstOptions.current);
        } catch (error) {
          setFailure({ error });
          return;
        }
        setShared({ client, connection: connectionStore(client) });
      },
      (error: unknown) => mounted && setFailure({ error }),
    );
    return () => {
      mounted = false;
      client?.free();
      // Children never see a freed client when React runs the effect again
      // on a live provider (Fast Refresh, a hidden <Activity>).
      setShared(null);
    };
  }, []);

  return createElement(TabWireContext.Provider, { value: shared }, children);
}

/** The provider's client and store; throws outside a provider, a mistake better told at once. */
export function useShared(): Shared | null {
  const shared = useContext(TabWireContext);
  if (shared === undefined) throw new Error("tabwire/react: this hook needs a <TabWireProvider> above it");
  return shared;
}

/** The provider's client, or `null` while the WebAssembly loads. */
export function useTabWire(): TabWire | null {
  return useShared()?.client ?? null;
}
