// The resilience drills, through the reference server's control API: go
// offline (connection dropped, reconnects refused) and back online, kill
// the server's connections, stall the server. Tabs share the offline
// switch through localStorage.

import { log, showBanner } from "./log.js";
import { control } from "./server.js";
import { $ } from "./ui.js";

const OFFLINE_KEY = "fundops:offline";
/** The longest refusal the control API takes: an hour. */
const REFUSE_MS = 3_600_000;

export async function startControls(ws) {
  const offline = $("go-offline");
  const buttons = [offline, $("kill"), $("stall")];
  /** A stalled connection lingers on the server: resumed once the client replaced it. */
  let stalled = false;

  const showOffline = () => {
    const on = localStorage.getItem(OFFLINE_KEY) === "1";
    offline.setAttribute("aria-pressed", String(on));
    offline.querySelector("strong").textContent = on ? "Go online" : "Go offline";
    offline.querySelector("span").textContent = on
      ? "Accept reconnects again; the outbox drains"
      : "Drop the connection and refuse reconnects";
  };

  /** Runs the control calls of one drill, logging it; errors show in the banner. */
  async function drill(what, ...steps) {
    log("warn", `drill: ${what}`);
    try {
      for (const [route, params] of steps) await control(route, params);
    } catch (error) {
      showBanner("Drill failed", `${what}: ${error.message}`);
    }
  }

  offline.addEventListener("click", async () => {
    if (localStorage.getItem(OFFLINE_KEY) === "1") {
      localStorage.removeItem(OFFLINE_KEY);
      showOffline();
      await drill("back online", ["refuse", { ms: 0 }]);
      // Like the browser's `online` event: retry now rather than at the end of the backoff.
      if (ws.state !== "open") ws.reconnect();
    } else {
      localStorage.setItem(OFFLINE_KEY, "1");
      showOffline();
      await drill("network lost", ["refuse", { ms: REFUSE_MS, http: 1 }], ["drop"]);
    }
  });
  $("kill").addEventListener("click", () => drill("kill server connections", ["drop"]));
  $("stall").addEventListener("click", () => {
    stalled = true;
    drill("stall the server", ["stall"]);
  });
  ws.on("open", () => {
    if (stalled) {
      stalled = false;
      control("resume").catch(() => {});
    }
  });
  addEventListener("storage", (event) => {
    if (event.key === OFFLINE_KEY) showOffline();
  });
  showOffline();

  try {
    await control("stats");
    for (const button of buttons) button.disabled = false;
  } catch {
    $("controls-hint").textContent = "The drills need the server's control API: start it with --test-control.";
  }
}
