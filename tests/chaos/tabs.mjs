// The tabs of a chaos scenario: test pages (pages/chaos.html,
// pages/raw.html) opened in Chromium contexts, reloaded and closed on
// purpose, with every uncaught page error or crash kept as trouble, and
// (with a trace file) every page's `chaos ...` console line and trouble
// copied to it, in time.
//
// A page is ready once it set `window.ready`; it reports a failure to
// create its client in `window.initError`, and exposes its client as
// `window.tw`, whose `stats().role` tells the leader.
//
// What a load of a page saw is lost when it reloads or closes, so a
// scenario may ask for it first: `capture(entry)` is called before each
// reload or close, and what it returns is kept in `ended`. `watch(page,
// name)` is called once for every page opened, before it loads.

import { sleep } from "../e2e/helpers.mjs";

/** Upper bound of one wait for a page (load, ready, evaluate). */
export const PAGE_MS = 30_000;

/** Polls `check` (resolving to `{done, value}`) every 200 ms until done or `ms` passed; returns the last answer. */
export async function waitFor(ms, check) {
  const deadline = Date.now() + ms;
  for (;;) {
    const answer = await check();
    if (answer.done || Date.now() > deadline) return answer;
    await sleep(200);
  }
}

export class Tabs {
  /**
   * `origin`: where the pages are served; `log(line)`: progress lines;
   * `trace(line)`: the trace file's writer, if any; `capture(entry)`:
   * what to keep of a load before it ends; `watch(page, name)`: sees
   * every page before it loads.
   */
  constructor({ origin, log, trace, capture, watch }) {
    this.origin = origin;
    this.log = log;
    this.trace = trace;
    this.capture = capture;
    this.watch = watch;
    /** What `capture` returned for each load that ended, in order. */
    this.ended = [];
    /** The pages alive: {name, page, context}. */
    this.live = [];
    /** The names of the tabs closed on the way. */
    this.closed = [];
    /** Every page error or crash, with its tab. */
    this.trouble = [];
  }

  /** Opens `pathname?query` in `context` as the tab `name` and waits until it is ready. */
  async open({ context, name, pathname, query }) {
    const url = new URL(pathname, this.origin);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
    const page = await context.newPage();
    this.watch?.(page, name);
    const trouble = (what) => {
      this.trouble.push(`${name}: ${what}`);
      this.trace?.(`chaos ${name} trouble: ${what}`);
    };
    page.on("pageerror", (error) => trouble(`uncaught ${error.message}`));
    page.on("crash", () => trouble("renderer crashed"));
    if (this.trace) {
      page.on("console", (message) => {
        if (message.text().startsWith("chaos ")) this.trace(message.text());
      });
    }
    const entry = { name, page, context };
    await page.goto(url.toString(), { timeout: PAGE_MS });
    await this.ready(entry);
    this.live.push(entry);
    this.log(`opened ${name}`);
    return entry;
  }

  async ready(entry) {
    await entry.page.waitForFunction(() => window.ready === true, null, { timeout: PAGE_MS, polling: 50 });
    const initError = await entry.page.evaluate(() => window.initError ?? null);
    if (initError) throw new Error(`tab ${entry.name} could not create its client: ${initError}`);
  }

  /** Keeps what `capture` takes of the load that is about to end. */
  async keep(entry) {
    if (!this.capture) return;
    try {
      this.ended.push(await this.capture(entry));
    } catch (error) {
      this.trouble.push(`${entry.name}: could not be read before it ended: ${error.message}`);
    }
  }

  async reload(entry) {
    await this.keep(entry);
    await entry.page.reload({ timeout: PAGE_MS });
    await this.ready(entry);
  }

  async close(entry) {
    await this.keep(entry);
    this.live.splice(this.live.indexOf(entry), 1);
    this.closed.push(entry.name);
    await entry.page.close();
  }

  /** Evaluates `fn` in every live tab, in order. */
  each(fn) {
    return Promise.all(this.live.map((entry) => entry.page.evaluate(fn)));
  }

  /** Which of `entries` leads (asked until one does, 5 s at most); undefined if none. */
  async leaderOf(entries) {
    const found = await waitFor(5_000, async () => {
      const roles = await Promise.all(entries.map((entry) => entry.page.evaluate(() => window.tw.stats().role)));
      const index = roles.indexOf("leader");
      return { done: index >= 0, value: entries[index] };
    });
    return found.done ? found.value : undefined;
  }
}
