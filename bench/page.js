// What the benchmark pages share: waiting, reporting to the runner's results
// server (its origin is the page's `report` parameter) and the checks.

const REPORT = new URLSearchParams(location.search).get("report");

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection naming `what` after `ms`. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `condition` every 2 ms until it holds, for at most `ms`. */
export async function until(what, condition, ms = 15_000) {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(2);
  }
}

/** POSTs `body` to the runner; text/plain keeps the request simple (no CORS preflight). */
export const post = (route, body) =>
  fetch(`${REPORT}${route}`, { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify(body) });

/** A progress line, on the page and in the runner's output. */
export function log(line) {
  document.getElementById("log").textContent += `${line}\n`;
  post("/log", { line }).catch(() => {});
}

export const checks = [];

/** Records a check; `detail` says what was seen. */
export function check(name, ok, detail) {
  checks.push({ name, ok: Boolean(ok), detail: JSON.stringify(detail) });
}

/** POSTs to the test control API of the reference server at `origin` (http) and resolves to its JSON answer. */
export async function control(origin, route, params = {}) {
  const response = await fetch(`${origin}/control/${route}?${new URLSearchParams(params)}`, { method: "POST" });
  if (!response.ok) throw new Error(`/control/${route}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}
