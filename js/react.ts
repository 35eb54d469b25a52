/**
 * `tabwire/react`: one client per `<TabWireProvider>`, and hooks that read
 * it from context, so that the components of a dashboard share one
 * connection.
 *
 * ```tsx
 * import { TabWireProvider, useChannel, useConnectionState } from "tabwire/react";
 *
 * function Nav({ fund }: { fund: string }) {
 *   const last = useChannel<{ nav: number }>(`nav:${fund}`);
 *   return <td>{last?.data.nav ?? "…"}</td>;
 * }
 * function Badge() {
 *   const { state, attempt, transport } = useConnectionState();
 *   return <span>{state === "reconnecting" ? `retry ${attempt}` : `${state} · ${transport}`}</span>;
 * }
 * root.render(
 *   <TabWireProvider options={{ url: "wss://example.test/ws" }}>
 *     <Badge /><Nav fund="FUND-1" />
 *   </TabWireProvider>,
 * );
 * ```
 *
 * @module
 */
export { TabWireProvider, useTabWire, type TabWireProviderProps } from "./react/provider.js";
export { useChannel, useConnectionState, useOnType, useTabWireEvent } from "./react/hooks.js";
export type { ConnectionSnapshot } from "./store.js";
