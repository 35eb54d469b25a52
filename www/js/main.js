// The fund operations console: one TabWire client (shared by every tab of
// this origin) feeding the NAV, approval, risk and connection panels.

import init, { TabWire } from "/pkg/tabwire.js";

import { startAlerts } from "./alerts.js";
import { startApprovals } from "./approvals.js";
import { startConnection } from "./connection.js";
import { startControls } from "./controls.js";
import { log, showBanner, startLog } from "./log.js";
import { startNavs } from "./navs.js";
import { socketUrl } from "./server.js";
import { $ } from "./ui.js";

/** Short enough for a stalled server to be noticed within seconds. */
const HEARTBEAT = { intervalMs: 3000, timeoutMs: 2000 };

/** This tab's name, kept across its reloads: it signs the decisions. */
function tabName() {
  let name = sessionStorage.getItem("fundops:tab");
  if (!name) {
    name = `tab-${crypto.getRandomValues(new Uint16Array(1))[0].toString(16).padStart(4, "0")}`;
    sessionStorage.setItem("fundops:tab", name);
  }
  return name;
}

try {
  await init();
  const ws = new TabWire({ url: socketUrl(), reconnect: { minDelayMs: 500, maxDelayMs: 8000 }, heartbeat: HEARTBEAT });
  window.tabwire = ws;
  const name = tabName();
  $("tab-name").textContent = name;
  startLog(ws);
  startConnection(ws, HEARTBEAT);
  startNavs(ws);
  startApprovals(ws, name);
  startAlerts(ws);
  await startControls(ws);
} catch (error) {
  showBanner("The console could not start", error.message ?? String(error));
  log("bad", `startup failed: ${error.message ?? error}`);
}
