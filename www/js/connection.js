// The connection panel and the header's status: state, retry countdown,
// transport, heartbeat round trip, outbox depth, this tab's role and the tabs sharing
// the connection. Refreshed on every client event and four times a second.

import { control } from "./server.js";
import { $, plural } from "./ui.js";

const REFRESH_MS = 250;
const SERVER_STATS_MS = 2000;
const DETAILS = {
  idle: "Not started",
  connecting: "Opening the WebSocket…",
  reconnecting: "Connection lost · backing off",
  offline: "The browser is offline",
  closed: "Closed for good",
};
/** How each transport reads on the panel. */
const TRANSPORTS = {
  websocket: "WebSocket",
  sse: "HTTP · server-sent events",
  polling: "HTTP · long polls",
};
const EVENTS = ["state", "open", "close", "reconnecting", "role", "ack", "error"];

/** Sets an element's text; unchanged text is left alone (no churn for screen readers). */
function text(id, value) {
  const element = $(id);
  if (element.textContent !== value) element.textContent = value;
}

/** `heartbeat`: the client's heartbeat options, told in the panel. */
export function startConnection(ws, heartbeat) {
  /** The retry being worked on; only `state` events carry it. */
  let attempt = 0;

  function render() {
    const stats = ws.stats();
    const retryMs = stats.state === "reconnecting" && stats.retryAt != null ? Math.max(0, stats.retryAt - Date.now()) : null;
    const retry = retryMs == null ? "—" : retryMs > 0 ? `${(retryMs / 1000).toFixed(1)} s` : "now";
    for (const id of ["status-pill", "state-box"]) $(id).dataset.state = stats.state;
    text("status-text", stats.state);
    text("status-retry", retryMs == null ? "" : `· ${retry}`);
    text("state", stats.state);
    text("state-detail", stats.state === "open" ? `Live · heartbeat ${heartbeat.intervalMs / 1000} s` : DETAILS[stats.state]);
    text("retry-in", retry);
    text("attempt", String(attempt));
    text("rtt", stats.lastRttMs == null ? "—" : `${Math.round(stats.lastRttMs)} ms`);
    text("queued", String(stats.queued));
    $("queued").dataset.busy = String(stats.queued > 0);
    text("reconnects", String(stats.reconnects));
    text("messages-in", stats.messagesIn.toLocaleString("en-GB"));
    text("messages-out", stats.messagesOut.toLocaleString("en-GB"));
    text("protocol", stats.protocol == null ? "—" : stats.protocol === "raw" ? "raw" : `${stats.protocol} · acknowledged`);
    text("transport", stats.transport == null ? "—" : TRANSPORTS[stats.transport]);
    $("transport").dataset.transport = stats.transport ?? "";
    text("role", stats.role);
    $("role").dataset.role = stats.role;
    const sharing = stats.role === "solo" ? "1 tab · own connection" : `${plural(stats.tabs, "tab")} · 1 connection`;
    text("tabs", sharing);
    text("sharing", sharing);
  }

  async function renderServer() {
    const { connections } = await control("stats").catch(() => ({}));
    text("server-connections", connections == null ? "—" : String(connections));
  }

  ws.on("state", (event) => {
    attempt = event.attempt;
  });
  for (const name of EVENTS) ws.on(name, render);
  for (const name of ["open", "close"]) ws.on(name, renderServer);
  render();
  renderServer();
  setInterval(render, REFRESH_MS);
  setInterval(renderServer, SERVER_STATS_MS);
}
