// Small DOM and formatting helpers shared by the panels.

export const $ = (id) => document.getElementById(id);

/** A copy of the first element of `<template id=...>`. */
export function clone(templateId) {
  return $(templateId).content.firstElementChild.cloneNode(true);
}

/** Sets the text of `root`'s descendants: `{selector: text}`. */
export function fill(root, texts) {
  for (const [selector, text] of Object.entries(texts)) root.querySelector(selector).textContent = text;
}

const clockFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });

/** "14:03:27" for a Unix epoch ms. */
export const clock = (ms) => clockFormat.format(ms);

/** Sets a `<time>` element to the epoch ms `ms`. */
export function stamp(time, ms) {
  time.dateTime = new Date(ms).toISOString();
  time.textContent = clock(ms);
}

const moneyFormats = new Map();

/** "€1,250,000" */
export function money(amount, currency) {
  if (!moneyFormats.has(currency)) {
    moneyFormats.set(currency, new Intl.NumberFormat("en-US", { style: "currency", currency, maximumFractionDigits: 0 }));
  }
  return moneyFormats.get(currency).format(amount);
}

/** "+0.0312" / "−0.0312" with a true minus sign. */
export function signed(value, digits) {
  const text = Math.abs(value).toFixed(digits);
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}

/** "1 tab", "3 tabs" */
export const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

/** Restarts `element`'s CSS highlight (class "flash"; its colour and the reduced-motion rule are in the CSS). */
export function flash(element) {
  element.classList.remove("flash");
  void element.offsetWidth;
  element.classList.add("flash");
}
