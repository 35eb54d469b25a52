// An application's use of tabwire, tabwire/store and tabwire/react,
// compiled with `tsc --strict --noEmit` against the package installed from
// its tarball. Every `@ts-expect-error` line must stay an error: if the
// types ever accept it, tsc reports the directive as unused and the test
// fails.
import { useState, useSyncExternalStore, type ReactElement } from "react";
import init, { TabWire, type ChannelMessage, type RoleName, type StateName, type TabWireError, type TransportName } from "tabwire";
import {
  TabWireProvider,
  useChannel,
  useConnectionState,
  useOnType,
  useTabWire,
  useTabWireEvent,
  type ConnectionSnapshot,
  type TabWireProviderProps,
} from "tabwire/react";
import { connectionStore, type ConnectionStore, type ConnectionStoreOptions } from "tabwire/store";

// @ts-expect-error only the entry points are exported, not the modules behind them
import { useShared } from "tabwire/react/provider.js";
// Used, so that the import's only possible error is its resolution.
export const deepImport: unknown = useShared;

interface Nav {
  fund: string;
  nav: number;
}

interface Approval {
  type: "approval";
  id: number;
}

function NavCell({ fund }: { fund: string }): ReactElement {
  const [count, setCount] = useState(0);
  const last: ChannelMessage<Nav> | undefined = useChannel<Nav>(`nav:${fund}`, (message) => {
    const nav: number = message.data.nav;
    setCount(count + nav);
  });
  const resumed = useChannel<Nav>(`nav:${fund}`, undefined, { since: 41 });
  // @ts-expect-error the payload is a Nav: nav is a number
  useChannel<Nav>("nav:x", (message) => message.data.nav.toUpperCase());
  // @ts-expect-error since is an offset, a number
  useChannel("nav:x", undefined, { since: "41" });
  return (
    <td>
      {last?.data.nav.toFixed(2) ?? "…"} {last?.offset} {resumed?.channel} {count}
    </td>
  );
}

function Badge(): ReactElement {
  const snapshot: ConnectionSnapshot = useConnectionState();
  const state: StateName = snapshot.state;
  const role: RoleName = snapshot.role;
  const retryAt: number | undefined = snapshot.retryAt;
  // @ts-expect-error the snapshot is immutable
  snapshot.queued = 0;
  // @ts-expect-error "opened" is not a state
  const opened = snapshot.state === "opened";
  const transport: TransportName | undefined = snapshot.transport;
  // @ts-expect-error "http" is not a transport: "sse" or "polling"
  const http = snapshot.transport === "http";
  return (
    <span>
      {state} {snapshot.attempt} {retryAt} {role} {snapshot.tabs} {snapshot.queued} {snapshot.lastRttMs ?? "-"} {opened} {transport} {http}
    </span>
  );
}

function Approvals(): ReactElement {
  const client: TabWire | null = useTabWire();
  useOnType<Approval>("approval", (approval) => console.log(approval.id + 1));
  // @ts-expect-error an Approval's id is a number
  useOnType<Approval>("approval", (approval) => approval.id.toUpperCase());
  useTabWireEvent("ack", ({ id }) => console.log(id.length));
  useTabWireEvent("error", (error: TabWireError) => console.log(error.kind));
  useTabWireEvent("gap", ({ channel, since, from }) => console.log(channel, since + from));
  // @ts-expect-error "acked" is not an event
  useTabWireEvent("acked", () => {});
  // @ts-expect-error an ack's payload is {id}, not a close
  useTabWireEvent("ack", (event: { code: number }) => console.log(event.code));
  return <button onClick={() => client?.send({ type: "approve", id: 7 })}>approve</button>;
}

export function App(): ReactElement {
  const props: TabWireProviderProps = { options: { url: "wss://example.test/ws", queue: { key: "dashboard" } } };
  return (
    <>
      <TabWireProvider {...props}>
        <Badge />
        <NavCell fund="FUND-1" />
        <Approvals />
      </TabWireProvider>
      {/* @ts-expect-error a misspelt option */}
      <TabWireProvider options={{ url: "wss://example.test/ws", reconect: {} }} />
      {/* @ts-expect-error the url is required */}
      <TabWireProvider options={{}} />
    </>
  );
}

// The store without React, as Zustand, Svelte and Vue use it.
export async function plain(): Promise<ConnectionStore> {
  await init();
  const client = new TabWire({ url: "wss://example.test/ws" });
  const options: ConnectionStoreOptions = { pollMs: 500 };
  const store = connectionStore(client, options);
  const stop: () => void = store.subscribe((snapshot) => console.log(snapshot.state, snapshot.attempt));
  stop();
  const first: ConnectionSnapshot = store.getSnapshot();
  console.log(first.tabs);
  // @ts-expect-error the listener gets a snapshot, not a string
  store.subscribe((state: string) => console.log(state));
  // @ts-expect-error a client is required
  connectionStore();
  return store;
}

export function useWithoutHooks(store: ConnectionStore): StateName {
  return useSyncExternalStore(store.subscribe, store.getSnapshot).state;
}
