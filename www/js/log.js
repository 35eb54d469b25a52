// The event log (what the connection went through) and the error banner.

import { $, clock, plural } from "./ui.js";

const LIMIT = 200;
/** Errors that a successful reconnect puts right. */
const CONNECTION_ERRORS = new Set(["connect_timeout", "heartbeat_timeout", "socket", "socket_refused"]);

const list = $("log");
const count = $("log-count");
const banner = $("banner");
let bannerKind = null;

/** Adds a line at the top of the log; `kind` styles it (info, good, warn, bad). */
export function log(kind, text) {
  const item = document.createElement("li");
  item.dataset.kind = kind;
  const time = document.createElement("time");
  time.textContent = clock(Date.now());
  item.append(time, text);
  list.prepend(item);
  while (list.childElementCount > LIMIT) list.lastElementChild.remove();
  count.textContent = plural(list.childElementCount, "event");
}

/** Shows the error banner; `kind` lets a later recovery hide it. */
export function showBanner(title, message, kind = null) {
  $("banner-title").textContent = title;
  $("banner-message").textContent = message;
  banner.hidden = false;
  bannerKind = kind;
}

$("banner-dismiss").addEventListener("click", () => {
  banner.hidden = true;
});

/** Logs the client's events and shows its errors. */
export function startLog(ws) {
  ws.on("state", ({ state, attempt }) => log(state === "open" ? "good" : "info", `state ${state}${attempt ? ` (retry ${attempt})` : ""}`));
  ws.on("open", () => {
    if (CONNECTION_ERRORS.has(bannerKind)) banner.hidden = true;
  });
  ws.on("close", ({ code, reason, wasClean, willReconnect }) =>
    log("warn", `closed ${code}${reason ? ` “${reason}”` : ""}, ${wasClean ? "clean" : "dropped"}${willReconnect ? ", will reconnect" : ""}`));
  ws.on("reconnecting", ({ attempt, delayMs }) => log("info", `retry ${attempt} in ${Math.round(delayMs)} ms`));
  ws.on("error", ({ kind, message }) => {
    log("bad", `${kind}: ${message}`);
    showBanner(CONNECTION_ERRORS.has(kind) ? "Connection problem" : "Error", `${message} (${kind})`, kind);
  });
  ws.on("role", ({ role }) => log("info", `this tab is the ${role}`));
  ws.on("ack", ({ id }) => log("good", `ack ${id}`));
  ws.on("rejected", ({ id, message }) => log("bad", `rejected ${id}: ${message}`));
  ws.on("gap", ({ channel, since, from }) => log("warn", `${channel}: messages after ${since} lost, resumed from ${from}`));
  ws.on("subscribe_error", ({ channel, message }) => log("bad", `${channel}: ${message}`));
  ws.on("expired", ({ ids }) => log("warn", `expired undelivered: ${ids.join(", ")}`));
  ws.on("warning", ({ message }) => log("warn", message));
}
