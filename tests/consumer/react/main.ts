// The page of tests/consumer/react.test.mjs: a TabWireProvider with a
// connection badge (useConnectionState), a channel view (useChannel, with
// an inline listener), a typed-frame listener (useOnType) and an ack
// listener (useTabWireEvent). The test drives it through window.harness
// and reads what the hooks delivered from window.harness.log.
import { StrictMode, createElement as h, useEffect, useReducer, useState, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import type { ChannelMessage, SendReceipt } from "tabwire";
import { TabWireProvider, useChannel, useConnectionState, useOnType, useTabWire, useTabWireEvent, type ConnectionSnapshot } from "tabwire/react";

interface Harness {
  log: {
    /** Every snapshot useConnectionState rendered, in order. */
    snapshots: ConnectionSnapshot[];
    /** Every channel message, with the render count of the listener that got it. */
    messages: (ChannelMessage<unknown> & { render: number })[];
    types: unknown[];
    acks: string[];
  };
  setChannel(channel: string | null): void;
  rerender(): void;
  send(data: unknown): SendReceipt | undefined;
  unmount(): void;
}

declare global {
  interface Window {
    harness: Harness;
  }
}

const query = new URLSearchParams(location.search);
const url = `ws://${location.host}/ws?tag=${encodeURIComponent(query.get("tag") ?? "")}`;
const log: Harness["log"] = { snapshots: [], messages: [], types: [], acks: [] };
const harness: Harness = {
  log,
  setChannel: () => {},
  rerender: () => {},
  send: () => undefined,
  unmount: () => {},
};
window.harness = harness;

function Badge(): ReactNode {
  const snapshot = useConnectionState();
  useEffect(() => {
    log.snapshots.push(snapshot);
  }, [snapshot]);
  return h("p", null, h("span", { id: "state" }, snapshot.state), " queued: ", h("span", { id: "queued" }, snapshot.queued));
}

function Channel({ name }: { name: string }): ReactNode {
  const [renders, rerender] = useReducer((count: number) => count + 1, 0);
  harness.rerender = rerender;
  // A new listener at every render, which must not resubscribe.
  const last = useChannel(name, (message) => log.messages.push({ ...message, render: renders }));
  return h("p", null, h("span", { id: "last" }, last ? JSON.stringify(last.data) : "none"), " renders: ", h("span", { id: "renders" }, renders));
}

function Frames(): ReactNode {
  const client = useTabWire();
  useEffect(() => {
    harness.send = (data) => client?.send(data);
  }, [client]);
  useOnType("greeting", (frame) => log.types.push(frame));
  useTabWireEvent("ack", ({ id }) => log.acks.push(id));
  return null;
}

function App(): ReactNode {
  const [channel, setChannel] = useState(query.get("channel"));
  harness.setChannel = setChannel;
  return h(
    TabWireProvider,
    { options: { url, reconnect: { minDelayMs: 200, maxDelayMs: 200, jitter: "none" } } },
    h(Badge),
    h(Frames),
    channel === null ? null : h(Channel, { name: channel }),
  );
}

const root = createRoot(document.querySelector("#root")!);
harness.unmount = () => root.unmount();
root.render(query.has("strict") ? h(StrictMode, null, h(App)) : h(App));
