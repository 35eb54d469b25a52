// The reference server of this origin: its WebSocket endpoint and its test
// control API (/control/*, with --test-control), scoped to the page's `?tag=`.

const tag = new URLSearchParams(location.search).get("tag");

/** Calls `/control/<route>` and resolves to its JSON; rejects on HTTP errors. */
export async function control(route, params = {}) {
  const url = new URL(`/control/${route}`, location.href);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
  if (tag) url.searchParams.set("tag", tag);
  const response = await fetch(url, { method: "POST", signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
  return response.json();
}

/** The WebSocket endpoint of this origin, labelled with the page's tag. */
export function socketUrl() {
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  if (tag) url.searchParams.set("tag", tag);
  return url.toString();
}
