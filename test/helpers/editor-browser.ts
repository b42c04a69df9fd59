/**
 * A real browser for editor tests: Debian's /usr/bin/chromium driven by playwright-core (never a
 * downloaded browser), headless, in a fresh profile, logged in to Node-RED's editor.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { NodeRedInstance } from './nodered';
import { USERS } from './nrcert-editor';

/** Where screenshots go (gitignored); tests print each path. */
export const ARTIFACTS = resolve(__dirname, '..', 'artifacts');

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Starts chromium with a fresh --user-data-dir under `profileDir`. */
export async function launchChromium(profileDir: string): Promise<BrowserContext> {
  mkdirSync(profileDir, { recursive: true });
  return chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreHTTPSErrors: true, // Node-RED's certificate in the test is self-signed
    viewport: { width: 1400, height: 900 },
  });
}

/** Opens the editor and logs in through its own login dialog; resolves once the workspace is shown. */
export async function loginToEditor(context: BrowserContext, nodeRed: NodeRedInstance, user: keyof typeof USERS): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${nodeRed.url}/`);
  await page.fill('#node-dialog-login-username', user);
  await page.fill('#node-dialog-login-password', USERS[user].password);
  await page.click('#node-dialog-login-submit');
  await page.waitForSelector('.nrcert-tab', { state: 'attached', timeout: 30_000 });
  await page.waitForSelector('#red-ui-loader', { state: 'hidden', timeout: 30_000 });
  return page;
}

/**
 * Opens the Certificates sidebar tab the way a user does: Node-RED 5 has a button per tab in
 * its sidebar bar; Node-RED 4 lists the tabs that do not fit in the sidebar's drop-down menu.
 */
export async function openCertificatesTab(page: Page, major: number): Promise<void> {
  if (major >= 5) {
    await page.click('button[data-tab-id="nrcert"]');
  } else {
    await page.click('#red-ui-sidebar .red-ui-tab-link-button-menu');
    await page.locator('.red-ui-menu-dropdown a:visible', { hasText: 'Certificates' }).click();
  }
  await page.waitForSelector('.nrcert-tab .nrcert-names', { state: 'visible', timeout: 15_000 });
}

/** Saves a full-page screenshot as test/artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
