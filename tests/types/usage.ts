// Compiled with `tsc --strict --noEmit` against the built package. Every
// `@ts-expect-error` line must stay an error: if the types ever accept it,
// tsc reports the directive as unused and this check fails.
import init, {
  TabWire,
  type ChannelMessage,
  type CloseDetails,
  type GapReasonName,
  type InboundMessage,
  type OutboxEntry,
  type ProtocolName,
  type TransportName,
  type RoleName,
  type SendReceipt,
  type StateEvent,
  type StateName,
  type Stats,
  type TabWireEventMap,
  type TabWireOptions,
  type UrlProvider,
} from "../../pkg/tabwire.js";

export async function dashboard(): Promise<void> {
  await init();

  const options: TabWireOptions = {
    url: "wss://example.test/ws",
    protocols: ["dashboard.v2"],
    reconnect: { minDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: "full", maxRetries: Infinity, minUptimeMs: 5_000 },
    connectTimeoutMs: 10_000,
    heartbeat: { intervalMs: 25_000, timeoutMs: 10_000, ping: '{"type":"ping"}', pong: (data) => data === '{"type":"pong"}' },
    closeCodes: { fatal: [1008, [4000, 4099]], authFailure: [4401] },
    queue: { storage: "local", key: "dashboard", maxMessages: 1000, maxBytes: 1 << 20, ttlMs: 86_400_000, whenFull: "refuse" },
    protocol: "auto",
    helloTimeoutMs: 1_000,
    transports: ["websocket", "sse", "polling"],
    autoConnect: true,
    share: true,
    typeField: "type",
    token: async ({ authFailed }) => (authFailed ? "fresh" : "cached"),
    tokenIn: "frame",
  };
  const ws = new TabWire(options);

  const provider: UrlProvider = async ({ attempt, authFailed }) =>
    `wss://example.test/ws?attempt=${attempt}&refresh=${authFailed}`;
  new TabWire({ url: provider, heartbeat: false, queue: { key: "provider" } }).free();
  new TabWire({ url: "wss://example.test/ws", protocol: "tabwire" }).free();
  new TabWire({ url: "wss://example.test/ws", protocol: "raw", queue: { ttlMs: Infinity } }).free();
  new TabWire({ url: "wss://example.test/ws", transports: ["polling"] }).free();
  // @ts-expect-error "http" is not a transport: "sse" or "polling"
  new TabWire({ url: "wss://example.test/ws", transports: ["http"] }).free();

  // Listeners get the payload of their event.
  const off = ws.on("state", (event: StateEvent) => {
    const state: StateName = event.state;
    const retryAt: number | undefined = event.retryAt;
    console.log(state, event.attempt, retryAt, event.close?.code);
  });
  off();
  ws.on("message", (message: InboundMessage) => {
    const data: string | ArrayBuffer = message.data;
    console.log(typeof data === "string" ? data.length : data.byteLength);
  });
  ws.on("close", (close: CloseDetails) => console.log(close.code, close.reason, close.wasClean, close.willReconnect));
  ws.on("reconnecting", ({ attempt, delayMs, retryAt }) => console.log(attempt, delayMs, retryAt));
  ws.on("error", ({ kind, message }) => console.log(kind.toUpperCase(), message));
  ws.on("open", ({ attempt, protocol, transport }) => {
    const mode: ProtocolName = protocol;
    const carrier: TransportName = transport;
    console.log(carrier === "websocket" ? "socket" : "HTTP");
    console.log(attempt + 1, mode === "tabwire.v1" ? "acknowledged" : "raw");
  });

  const receipt: SendReceipt = ws.send({ type: "approve", id: 7 });
  if (receipt.status === "refused") {
    console.log(receipt.reason, receipt.message);
  } else {
    const id: string = receipt.id;
    ws.on("ack", (ack) => console.log(ack.id === id));
  }
  ws.on("expired", ({ ids }) => console.log(ids.length));
  ws.on("warning", ({ key, message }) => console.log(key, message));
  const pending: OutboxEntry[] = ws.outbox();
  console.log(pending.map((entry) => [entry.id, entry.createdAt, entry.attempts, entry.inFlight, entry.stored]));
  const cleared: number = ws.clearOutbox();
  ws.send("text");
  ws.send(new Uint8Array([1, 2, 3]));
  ws.send(new ArrayBuffer(8));
  const stats: Stats = ws.stats();
  const role: RoleName = stats.role;
  console.log(cleared, stats.queued, stats.lastRttMs ?? 0, ws.state, role, stats.tabs + 1, stats.protocol ?? "not open");
  const carriedBy: TransportName | undefined = stats.transport;
  console.log(carriedBy ?? "not open");
  ws.on("role", (event) => console.log(event.role === "leader"));

  // Channels: the listener's payload type is the caller's.
  interface NavUpdate {
    fund: string;
    nav: number;
  }
  const unsubscribe = ws.subscribe<NavUpdate>("nav:FUND-1", (message: ChannelMessage<NavUpdate>) =>
    console.log(message.channel, message.data.nav.toFixed(2), message.offset ?? 0, message.epoch ?? ""),
  );
  unsubscribe();
  ws.subscribe("approvals:desk-3", () => {}, { since: 41 });
  ws.subscribe("approvals:desk-3", () => {}, { since: 41, epoch: "q8v2m1" });
  const published: SendReceipt = ws.publish("approvals:desk-3", { approve: 7 });
  console.log(published.status);
  interface RiskAlert {
    type: "risk";
    level: number;
  }
  const offRisk = ws.onType<RiskAlert>("risk", (alert) => console.log(alert.level.toFixed(0)));
  offRisk();
  ws.on("subscribed", ({ channel, offset, epoch }) => console.log(channel, offset + 1, epoch ?? ""));
  ws.on("gap", ({ channel, since, from, reason, epoch }) => {
    const why: GapReasonName = reason;
    console.log(channel, from - since, why === "reset" ? `renumbered as ${epoch}` : "trimmed");
  });
  ws.on("unsubscribed", ({ channel }) => console.log(channel.length));
  ws.on("subscribe_error", ({ channel, code, message }) => console.log(channel, code, message));
  ws.on("rejected", ({ id, code, message }) => console.log(id.length, code, message));
  new TabWire({ url: "wss://example.test/ws", token: "jwt", tokenIn: "query" }).free();
  ws.reconnect();
  ws.close(1000, "bye");
  ws.free();

  // @ts-expect-error a rejection carries no channel
  ws.on("rejected", ({ channel }) => console.log(channel));
  // A wrong event name.
  // @ts-expect-error "clsoe" is not an event
  ws.on("clsoe", () => {});

  // A wrong payload type for the event.
  // @ts-expect-error `open` carries OpenEvent, not CloseDetails
  ws.on("open", (event: CloseDetails) => console.log(event.code));

  // A field the payload does not have.
  // @ts-expect-error StateEvent has no `code`
  ws.on("state", (event) => console.log(event.code));

  // A state that does not exist.
  // @ts-expect-error "opened" is not a StateName
  const wrongState: StateName = "opened";
  console.log(wrongState);

  // A misspelt option.
  // @ts-expect-error `reconect` is not an option
  new TabWire({ url: "wss://example.test/ws", reconect: {} });

  // A wrong jitter mode.
  // @ts-expect-error jitter is "full" | "equal" | "none"
  new TabWire({ url: "wss://example.test/ws", reconnect: { jitter: "sometimes" } });

  // The url is required.
  // @ts-expect-error missing url
  new TabWire({ heartbeat: false });

  // A refused receipt has no id: the status must be checked first.
  // @ts-expect-error `id` is not on every receipt
  console.log(ws.send("x").id);

  // A storage mode that does not exist.
  // @ts-expect-error storage is "local" | "memory"
  new TabWire({ url: "wss://example.test/ws", queue: { storage: "session" } });

  // Nothing to send.
  // @ts-expect-error undefined cannot be sent
  ws.send(undefined);

  // A role that does not exist.
  // @ts-expect-error "primary" is not a RoleName
  const wrongRole: RoleName = "primary";
  console.log(wrongRole);

  // A channel payload used as another type.
  // @ts-expect-error `nav` is a number, not a string
  ws.subscribe<NavUpdate>("nav:FUND-1", (message) => message.data.nav.toUpperCase());

  // A routed payload used as another type.
  // @ts-expect-error `level` is a number
  ws.onType<RiskAlert>("risk", (alert) => alert.level.toUpperCase());

  // The token goes in a frame or the query, nowhere else.
  // @ts-expect-error tokenIn is "frame" | "query"
  new TabWire({ url: "wss://example.test/ws", token: "jwt", tokenIn: "header" });

  // A protocol that does not exist.
  // @ts-expect-error protocol is "auto" | "tabwire" | "raw"
  new TabWire({ url: "wss://example.test/ws", protocol: "tabwire.v1" });

  // A gap reason that does not exist.
  // @ts-expect-error "lost" is not a GapReasonName
  const wrongReason: GapReasonName = "lost";
  console.log(wrongReason);

  // An epoch is a string.
  // @ts-expect-error epoch is a string, not a number
  ws.subscribe("x", () => {}, { since: 41, epoch: 3 });

  // An offset is a number.
  // @ts-expect-error since is a number, not a string
  ws.subscribe("x", () => {}, { since: "41" });

  // The event map is usable in generic code.
  type Payload<K extends keyof TabWireEventMap> = TabWireEventMap[K];
  const payload: Payload<"reconnecting"> = { attempt: 1, delayMs: 500, retryAt: Date.now() };
  console.log(payload);
}
