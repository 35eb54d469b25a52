// A consumer project built by Vite and served by the reference server, with
// Chromium to open it: what the browser tests of tests/consumer/ share.

import { closeBrowser, launchBrowser, startServer } from "../e2e/helpers.mjs";
import { consumerProject, viteBuild } from "./project.mjs";

/**
 * Installs the package into a copy of tests/consumer/<name>/, builds it
 * (see `viteBuild` for `development`), serves its dist/ and launches
 * Chromium. Resolves to `{ server, browser, close() }`; `close()` undoes
 * all of it, also after a partial start.
 */
export async function servedApp(name, { development = false } = {}) {
  const app = { server: undefined, browser: undefined, project: undefined };
  app.close = async () => {
    await closeBrowser(app.browser);
    await app.server?.stop();
    app.project?.remove();
  };
  try {
    app.project = await consumerProject(name);
    const dist = await viteBuild(app.project.dir, { development });
    app.server = await startServer({ www: dist, exitAfterSecs: 120 });
    app.browser = await launchBrowser();
    return app;
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** What `page` logs as an error or a warning, and its uncaught exceptions, as they come. */
export function problemsOf(page) {
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(String(error)));
  return problems;
}
