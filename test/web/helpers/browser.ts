import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core, for the web app's tests. Never a downloaded browser:
 * `.ci/run` installs the `chromium` package; on a developer machine without it the browser tests
 * fail and say how to install it, unless HERALD_SKIP_BROWSER=1 asks to skip them.
 */
export const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether the browser tests can run here: `{ skip }` with the reason when Chromium is missing and
 * HERALD_SKIP_BROWSER=1, `{ fail }` with what to install when it is missing otherwise.
 */
export function browserAvailability(): { run: true } | { skip: string } | { fail: string } {
  if (existsSync(CHROMIUM)) return { run: true };
  const reason = `Chromium is not installed at ${CHROMIUM}. Install Debian's package: apt-get install -y --no-install-recommends chromium`;
  if (process.env.HERALD_SKIP_BROWSER === '1') return { skip: `${reason} (skipped because HERALD_SKIP_BROWSER=1)` };
  return { fail: `${reason} (or set HERALD_SKIP_BROWSER=1 to skip the browser tests on this machine)` };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A page that fails the test on any script error of the app. */
export async function newPage(browser: Browser, opts: { width?: number; height?: number } = {}): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 }, deviceScaleFactor: 1, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return { page, errors };
}

/** Every response the page receives, with its body as text (bodies of redirects and failures included). */
export function recordResponses(page: Page): Array<{ url: string; status: number; body: Promise<string> }> {
  const seen: Array<{ url: string; status: number; body: Promise<string> }> = [];
  page.on('response', (res: Response) => {
    seen.push({ url: res.url(), status: res.status(), body: res.text().catch(() => '') });
  });
  return seen;
}

/** Signs in through the form with a stack's API key and management token. */
export async function signIn(page: Page, url: string, stack: { api_key: string; token: string }) {
  await page.goto(url + '/');
  await page.getByLabel('Stack API key').fill(stack.api_key);
  await page.getByRole('textbox', { name: 'Management token' }).fill(stack.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
}

/**
 * Where screenshots go: `.tmp/screenshots` (not tracked) by default, so `npm test` never rewrites
 * tracked files; `HERALD_UPDATE_SCREENSHOTS=1 npm test -- test/web` refreshes the README's pictures
 * in docs/screenshots on purpose.
 */
export const SCREENSHOT_DIR = process.env.HERALD_UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : '.tmp/screenshots';

/** Saves a screenshot named `name` (`webhook-list.png`) into SCREENSHOT_DIR. */
export async function screenshot(page: Page, name: string, opts: { locator?: string } = {}) {
  const path = join(SCREENSHOT_DIR, name);
  mkdirSync(dirname(path), { recursive: true });
  // Notices come and go with timing; they are dismissed so the pictures show the screens. (No
  // injected stylesheet: the page's CSP refuses inline styles, and the tests watch for violations.)
  await page.locator('.notice-close').evaluateAll((buttons) => buttons.forEach((b) => (b as HTMLButtonElement).click()));
  if (opts.locator) return void (await page.locator(opts.locator).screenshot({ path, animations: 'disabled' }));
  // Down to the end of the screen's content (not the empty page below it), or the whole viewport
  // when a dialog is open.
  const viewport = page.viewportSize()!;
  const bottom = await page.evaluate(() => {
    if (document.querySelector('dialog[open]')) return innerHeight;
    const main = document.querySelector('main');
    const last = main?.lastElementChild?.getBoundingClientRect().bottom ?? innerHeight;
    return Math.ceil(last + 40);
  });
  const height = Math.max(360, Math.min(viewport.height, bottom));
  await page.screenshot({ path, animations: 'disabled', clip: { x: 0, y: 0, width: viewport.width, height } });
}

/**
 * Form controls on the page without a name a screen reader can say (no <label>, aria-label or
 * aria-labelledby), and ids used more than once: both should be empty lists.
 */
export async function accessibilityProblems(page: Page): Promise<{ unnamed: string[]; duplicateIds: string[] }> {
  return page.evaluate(() => {
    const unnamed = Array.from(document.querySelectorAll('input, select, textarea'))
      .filter((el) => (el as HTMLInputElement).type !== 'hidden')
      .filter((el) => {
        const labelled = ((el as HTMLInputElement).labels?.length ?? 0) > 0 || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
        return !labelled;
      })
      .map((el) => el.outerHTML.slice(0, 120));
    const seen = new Map<string, number>();
    for (const el of Array.from(document.querySelectorAll('[id]'))) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
    return { unnamed, duplicateIds: [...seen].filter(([, n]) => n > 1).map(([id]) => id) };
  });
}
