// Connects to the page's own server, sends one message and shows its echo
// and the connection's state: what any application does first, bundled
// by Vite from the installed package (the glue finds tabwire_bg.wasm
// through `new URL("tabwire_bg.wasm", import.meta.url)`, which Vite turns
// into a hashed asset).
import init, { TabWire } from "tabwire";
import { connectionStore } from "tabwire/store";

const output = (id: string): HTMLOutputElement => document.querySelector<HTMLOutputElement>(`#${id}`)!;

async function main(): Promise<void> {
  await init();
  const tag = new URLSearchParams(location.search).get("tag") ?? "";
  const client = new TabWire({ url: `ws://${location.host}/ws?tag=${encodeURIComponent(tag)}` });
  connectionStore(client).subscribe(({ state }) => {
    output("state").textContent = state;
  });
  client.on("message", ({ data }) => {
    output("echo").textContent = String(data);
  });
  client.send("hello from a Vite build");
}

main().catch((error: unknown) => {
  output("state").textContent = `failed: ${String(error)}`;
});
