// Risk alerts: a toast for each new one (amber warning, red critical), gone
// after a few seconds, and the recent ones in a list.

import { follow } from "./channels.js";
import { $, clone, fill, plural, stamp } from "./ui.js";

const HISTORY = 8;
const TOASTS = 4;
const TOAST_MS = { warning: 6000, critical: 9000 };

export function startAlerts(ws) {
  const history = $("alert-history");
  const toasts = $("toasts");
  const seen = { warning: 0, critical: 0 };

  follow(ws, "risk:alerts", (alert, { live }) => {
    seen[alert.level] += 1;
    $("alerts-summary").textContent = `${seen.critical} critical · ${plural(seen.warning, "warning")}`;
    history.prepend(item(alert));
    while (history.childElementCount > HISTORY) history.lastElementChild.remove();
    $("alerts-empty").hidden = true;
    if (live) toast(alert);
  });

  function toast(alert) {
    const toast = item(alert);
    toast.classList.add("toast");
    if (alert.level === "critical") toast.setAttribute("role", "alert");
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", `Dismiss ${alert.id}`);
    close.textContent = "×";
    close.addEventListener("click", () => toast.remove());
    toast.append(close);
    toasts.prepend(toast);
    while (toasts.childElementCount > TOASTS) toasts.lastElementChild.remove();
    setTimeout(() => toast.remove(), TOAST_MS[alert.level]);
  }
}

function item(alert) {
  const element = clone("alert-item");
  element.dataset.level = alert.level;
  element.dataset.id = alert.id;
  // Floored: a warning just under its limit must not read 100 %.
  const ratio = Math.floor((alert.value / alert.limit) * 100);
  fill(element, {
    ".level": alert.level,
    ".alert-title": `${alert.fund} · ${alert.metric}`,
    ".alert-detail": `${alert.value.toFixed(2)} vs limit ${alert.limit.toFixed(2)} · ${ratio}%`,
  });
  stamp(element.querySelector(".alert-time"), alert.at);
  return element;
}
