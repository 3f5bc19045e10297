import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";

/** Debian's Chromium (`.ci/run` installs it); playwright-core drives it, no browser is downloaded. */
export const CHROMIUM = process.env.RETROHOOK_TEST_CHROMIUM ?? "/usr/bin/chromium";
/** Screenshots of the web UI tests (git-ignored). */
export const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts", import.meta.url));

/**
 * Whether Chromium is installed. Without it the web UI tests are skipped with one line naming
 * the Debian package; under CI=true a missing browser is an error (a skipped suite would hide it).
 */
export function chromiumInstalled(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const line = `web UI tests skipped: ${CHROMIUM} not found; install the Debian package chromium`;
  if (process.env.CI === "true") throw new Error(`${line} (CI=true: a skipped browser suite is a failure)`);
  console.warn(line);
  return false;
}

export interface Browser {
  page: Page;
  context: BrowserContext;
  /** Writes a full-page screenshot to test-artifacts/`name`; returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Headless Chromium with a throwaway profile (removed on close, after the browser stops writing to it). */
export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "retrohook-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    viewport: { width: 1400, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  return {
    page,
    context,
    async screenshot(name) {
      mkdirSync(ARTIFACTS, { recursive: true });
      const path = join(ARTIFACTS, name);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What a browser suite starts and closes after all its tests (`close()`, or `stop()` for a daemon). */
type Closable = { close(): unknown } | { stop(): unknown };

export interface BrowserSuite {
  /** Chromium is installed (else the suite is skipped, or fails under CI=true). */
  installed: boolean;
  /** The browser, opened after `setup` (only inside the suite's tests). */
  browser(): Browser;
}

/**
 * A web UI test file's setup: before all its tests (only when Chromium is installed) `setup`
 * starts the fakes and the daemon — `keep(thing)` closes each after all, last started first —
 * then a headless browser opens; after all, the browser closes first.
 */
export function browserSuite(setup: (keep: <T extends Closable>(thing: T) => T) => Promise<void>): BrowserSuite {
  const installed = chromiumInstalled();
  const open: Closable[] = [];
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (!installed) return;
    await setup((thing) => {
      open.push(thing);
      return thing;
    });
    browser = await openBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    for (const thing of open.splice(0).reverse()) await ("stop" in thing ? thing.stop() : thing.close());
  });
  return {
    installed,
    browser() {
      if (!browser) throw new Error("the browser opens in beforeAll, after the suite's setup");
      return browser;
    },
  };
}
