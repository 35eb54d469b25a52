// Live NAV per fund: a card per fund with its NAV, its last move and a
// sparkline of the recent points, filled from the channel's history first.

import { follow } from "./channels.js";
import { $, clone, fill, flash, signed, stamp } from "./ui.js";

/** The demo server's funds (`nav:<code>` channels). */
const FUNDS = [
  ["GLB-EQ", "Global Equity"],
  ["EM-DEBT", "Emerging Markets Debt"],
  ["EU-CORE", "European Core Bonds"],
  ["US-TECH", "US Technology"],
  ["MULTI-AS", "Multi-Asset Income"],
];
/** Points on a chart: one NAV every 1.25 s, about two minutes. */
const POINTS = 96;
/** The sparkline's viewBox is 100 × 32; a pixel of air above and below. */
const WIDTH = 100;
const HEIGHT = 32;
const AIR = 2;

export function startNavs(ws) {
  const cards = $("nav-cards");
  for (const [code, name] of FUNDS) {
    const card = clone("nav-card");
    card.dataset.fund = code;
    fill(card, { ".fund-code": code, ".fund-name": name });
    card.querySelector(".spark").setAttribute("aria-label", `${name}: recent NAV`);
    cards.append(card);

    const fund = { card, points: [], last: null, live: false, pending: false };
    follow(ws, `nav:${code}`, (nav, { live }) => {
      fund.points.push(nav.nav);
      if (fund.points.length > POINTS) fund.points.shift();
      fund.last = nav;
      fund.live ||= live;
      // A replay brings hundreds at once: draw once per frame.
      if (!fund.pending) {
        fund.pending = true;
        requestAnimationFrame(() => render(fund));
      }
    });
  }
}

function render(fund) {
  const { card, points, last } = fund;
  fund.pending = false;
  const direction = last.change > 0 ? "up" : last.change < 0 ? "down" : "flat";
  const percent = (last.change / (last.nav - last.change)) * 100;
  const value = card.querySelector(".nav-value");
  value.textContent = last.nav.toFixed(4);
  const change = card.querySelector(".nav-change");
  change.dataset.dir = direction;
  change.textContent = `${signed(last.change, 4)} (${signed(percent, 2)}%)`;
  fill(card, { ".fund-ccy": last.currency, ".fund-name": last.name });
  stamp(card.querySelector(".nav-time"), last.at);
  if (fund.live) {
    value.dataset.dir = direction;
    flash(value);
  }

  const low = Math.min(...points);
  const high = Math.max(...points);
  card.dataset.trend = points.at(-1) >= points[0] ? "up" : "down";
  card.querySelector(".nav-range").textContent = `${low.toFixed(2)} – ${high.toFixed(2)}`;
  const span = high - low || 1;
  const step = WIDTH / Math.max(points.length - 1, 1);
  const line = points.map((point, index) => {
    const y = AIR + (HEIGHT - 2 * AIR) * (1 - (point - low) / span);
    return `${(step * index).toFixed(2)},${y.toFixed(2)}`;
  });
  card.querySelector(".spark-line").setAttribute("points", line.join(" "));
  card.querySelector(".spark-area").setAttribute("d", `M0,${HEIGHT} L${line.join(" L")} L${WIDTH},${HEIGHT} Z`);
}
