// The tabwire demo dashboard: one TabWire client, its state, counters and a
// message log. Plain ES module, no build step.

const LOG_LIMIT = 200;
const RESULT_VISIBLE_MS = 2500;
const STATE_DETAILS = {
  idle: "Not connected yet.",
  connecting: "Opening the WebSocket…",
  open: "Connected. Heartbeat keeps an eye on the socket.",
  reconnecting: "Connection lost. Waiting before the next attempt.",
  offline: "The browser is offline. Reconnects when the network returns.",
  closed: "Closed. Press Reconnect to connect again.",
};

const $ = (id) => document.getElementById(id);

const view = {
  endpoint: $("endpoint"),
  badge: $("badge"),
  badgeText: $("badge-text"),
  banner: $("banner"),
  bannerTitle: $("banner-title"),
  bannerMessage: $("banner-message"),
  stateRow: $("state-row"),
  state: $("state"),
  stateDetail: $("state-detail"),
  attempt: $("attempt"),
  retryIn: $("retry-in"),
  rtt: $("rtt"),
  queued: $("queued"),
  messagesIn: $("messages-in"),
  messagesOut: $("messages-out"),
  reconnects: $("reconnects"),
  role: $("role"),
  traffic: $("traffic"),
  bytesIn: $("bytes-in"),
  bytesOut: $("bytes-out"),
  form: $("send-form"),
  input: $("message-input"),
  send: $("send"),
  sendResult: $("send-result"),
  sendError: $("send-error"),
  reconnect: $("reconnect"),
  close: $("close"),
  log: $("log"),
  logEmpty: $("log-empty"),
  logCount: $("log-count"),
  clearLog: $("clear-log"),
};

/** What the dashboard knows beyond `stats()`. */
const model = {
  state: "idle",
  attempt: 0,
  /** Epoch ms of the next retry while reconnecting, else null. */
  retryAt: null,
};

let ws = null;
let resultTimer = 0;

// ---------------------------------------------------------------- errors

function showBanner(title, error) {
  view.bannerTitle.textContent = title;
  view.bannerMessage.textContent = describe(error);
  view.banner.hidden = false;
}

function describe(error) {
  if (error instanceof Error) return error.message || String(error);
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

window.addEventListener("error", (event) => {
  showBanner("Unexpected error", event.error ?? event.message);
});
window.addEventListener("unhandledrejection", (event) => {
  showBanner("Unexpected error", event.reason);
});

// ---------------------------------------------------------------- formatting

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function formatTime(date) {
  const pad = (n, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function describeData(data) {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return `<${data.byteLength} bytes>`;
  if (ArrayBuffer.isView(data)) return `<${data.byteLength} bytes>`;
  return String(data);
}

// ---------------------------------------------------------------- rendering

function renderState() {
  const state = model.state;
  view.state.textContent = state;
  view.badgeText.textContent = state;
  view.badge.dataset.state = state;
  view.stateRow.dataset.state = state;
  document.body.dataset.state = state;
  view.stateDetail.textContent = STATE_DETAILS[state] ?? "";
  view.attempt.textContent = String(model.attempt);
  view.close.disabled = state === "closed";
  renderCountdown();
}

function renderCountdown() {
  if (model.state !== "reconnecting" || model.retryAt == null) {
    view.retryIn.textContent = "—";
    return;
  }
  const ms = Math.max(0, model.retryAt - Date.now());
  view.retryIn.textContent = ms > 0 ? `${(ms / 1000).toFixed(1)} s` : "now";
}

function renderStats() {
  if (!ws) return;
  let stats;
  try {
    stats = ws.stats();
  } catch (error) {
    showBanner("Could not read the statistics", error);
    return;
  }
  view.rtt.textContent = stats.lastRttMs == null ? "—" : `${Math.round(stats.lastRttMs)} ms`;
  view.queued.textContent = String(stats.queued);
  view.messagesIn.textContent = String(stats.messagesIn);
  view.messagesOut.textContent = String(stats.messagesOut);
  view.reconnects.textContent = String(stats.reconnects);
  view.role.textContent = stats.role;
  view.bytesIn.textContent = formatBytes(stats.bytesIn);
  view.bytesOut.textContent = formatBytes(stats.bytesOut);
  view.traffic.title = `${stats.bytesIn} bytes in, ${stats.bytesOut} bytes out`;
  view.attempt.title = `${stats.attempts} connection attempt(s) in total`;
  // The getter is the truth; events may still be on their way.
  if (stats.state !== model.state) {
    model.state = stats.state;
    if (stats.state !== "reconnecting") model.retryAt = null;
    renderState();
  }
}

// ---------------------------------------------------------------- log

/** Adds a log line at the top; direction is "in", "out" or "event". */
function log(direction, text, note) {
  const item = document.createElement("li");
  item.className = `entry entry-${direction}`;
  item.dataset.direction = direction;

  const time = document.createElement("time");
  const now = new Date();
  time.dateTime = now.toISOString();
  time.textContent = formatTime(now);

  const tag = document.createElement("span");
  tag.className = "direction";
  tag.textContent = direction;

  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;

  item.append(time, tag, body);
  if (note) {
    const extra = document.createElement("span");
    extra.className = "note";
    extra.textContent = note;
    item.append(extra);
  }
  view.log.prepend(item);
  while (view.log.children.length > LOG_LIMIT) view.log.lastElementChild.remove();
  renderLogCount();
}

function renderLogCount() {
  const count = view.log.children.length;
  view.logCount.textContent = `${count} ${count === 1 ? "entry" : "entries"}`;
  view.logEmpty.hidden = count > 0;
}

// ---------------------------------------------------------------- sending

function flashResult(text, kind) {
  clearTimeout(resultTimer);
  view.sendResult.textContent = text;
  view.sendResult.dataset.kind = kind;
  view.sendResult.classList.add("visible");
  resultTimer = setTimeout(() => {
    view.sendResult.classList.remove("visible");
    view.sendResult.textContent = "";
    delete view.sendResult.dataset.kind;
  }, RESULT_VISIBLE_MS);
}

function showSendError(error) {
  view.sendError.textContent = describe(error);
  view.sendError.hidden = false;
}

function clearSendError() {
  view.sendError.hidden = true;
  view.sendError.textContent = "";
}

function onSubmit(event) {
  event.preventDefault();
  const text = view.input.value;
  if (!ws) {
    showSendError("The client is not running.");
    return;
  }
  if (text === "") {
    view.input.focus();
    return;
  }
  clearSendError();
  let receipt;
  try {
    receipt = ws.send(text);
  } catch (error) {
    showSendError(error);
    log("event", `send failed: ${describe(error)}`);
    renderStats();
    return;
  }
  if (receipt.status === "refused") {
    showSendError(receipt.message);
    log("event", `send refused: ${receipt.message}`);
    renderStats();
    return;
  }
  log("out", text, receipt.status === "queued" ? "queued" : undefined);
  flashResult(receipt.status, receipt.status);
  view.input.value = "";
  view.input.focus();
  renderStats();
}

// ---------------------------------------------------------------- client

function socketUrl() {
  const params = new URLSearchParams(location.search);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = new URL(params.get("url") || `${scheme}//${location.host}/ws`, location.href);
  // `?url=/ws` or an http(s) URL means the same place over ws(s).
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  const tag = params.get("tag");
  if (tag != null && tag !== "") url.searchParams.set("tag", tag);
  return url.toString();
}

function attach(client) {
  client.on("state", (event) => {
    model.state = event.state;
    model.attempt = event.attempt;
    model.retryAt = event.state === "reconnecting" ? (event.retryAt ?? model.retryAt) : null;
    renderState();
    renderStats();
  });
  client.on("role", (event) => {
    log("event", `this tab is now ${event.role === "leader" ? "the leader" : `a ${event.role}`}`);
    renderStats();
  });
  client.on("open", (event) => {
    log("event", event.attempt === 0 ? "open" : `open after ${event.attempt} ${event.attempt === 1 ? "retry" : "retries"}`);
    renderStats();
  });
  client.on("message", (event) => {
    log("in", describeData(event.data));
    renderStats();
  });
  client.on("close", (event) => {
    const reason = event.reason ? ` “${event.reason}”` : "";
    const how = event.wasClean ? "clean" : "dropped";
    const next = event.willReconnect ? "will reconnect" : "will not reconnect";
    log("event", `close ${event.code}${reason} (${how}, ${next})`);
    renderStats();
  });
  client.on("reconnecting", (event) => {
    model.retryAt = event.retryAt;
    log("event", `reconnecting: retry ${event.attempt} in ${Math.round(event.delayMs)} ms`);
    renderCountdown();
    renderStats();
  });
  client.on("error", (event) => {
    log("event", `error (${event.kind}): ${event.message}`);
    renderStats();
  });
  client.on("ack", (event) => {
    log("event", `ack ${event.id}: the server handled it`);
    renderStats();
  });
  client.on("expired", (event) => {
    log("event", `expired undelivered: ${event.ids.join(", ")}`);
    renderStats();
  });
  client.on("warning", (event) => {
    log("event", `warning: ${event.message}`);
  });
}

async function start() {
  const url = socketUrl();
  view.endpoint.textContent = url;
  view.endpoint.title = url;

  const { default: init, TabWire } = await import("/pkg/tabwire.js");
  await init();
  const client = new TabWire({
    url,
    reconnect: { minDelayMs: 250, maxDelayMs: 5000 },
    heartbeat: { intervalMs: 5000, timeoutMs: 3000 },
  });
  // The first events come from a microtask: listeners added now hear them.
  attach(client);
  ws = client;
  window.tabwire = client;
  model.state = client.state;
  renderState();
  renderStats();
}

view.form.addEventListener("submit", onSubmit);
view.reconnect.addEventListener("click", () => {
  if (!ws) return;
  try {
    ws.reconnect();
  } catch (error) {
    showBanner("Reconnect failed", error);
  }
  renderStats();
});
view.close.addEventListener("click", () => {
  if (!ws) return;
  try {
    ws.close();
  } catch (error) {
    showBanner("Close failed", error);
  }
  renderStats();
});
view.clearLog.addEventListener("click", () => {
  view.log.replaceChildren();
  renderLogCount();
});

setInterval(renderCountdown, 100);
setInterval(renderStats, 1000);
renderState();
renderLogCount();

start().catch((error) => {
  model.state = "closed";
  renderState();
  view.stateDetail.textContent = "The client could not start.";
  for (const control of [view.send, view.input, view.reconnect, view.close]) control.disabled = true;
  showBanner("tabwire could not start", error);
  log("event", `startup failed: ${describe(error)}`);
});
