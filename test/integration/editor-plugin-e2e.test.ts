/**
 * node-red-contrib-nrcert against the real nrcert (Pebble, challtestsrv, the Cloudflare fake):
 * a flow `nrcert events` → file receives `renewed` after a real `nrcert renew --force` and
 * `renewal_failed` after an injected Cloudflare failure; Renew now through the admin API makes a
 * running `nrcert run` renew, and a second request while it runs is refused politely; a client
 * certificate is added (its .p12 downloaded once) and revoked through the same spool; and in a
 * real browser (Debian's chromium) a user logs in, opens the Certificates tab, sees the names and
 * days left, presses Renew now and sees the new expiry (a screenshot in test/artifacts/).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { runCli, SENTINEL_TOKEN, startCli, startStack, stopCli, type Stack } from '../helpers/cli';
import { identityFromP12 } from '../helpers/client-tls';
import { launchChromium, loginToEditor, openCertificatesTab, screenshot } from '../helpers/editor-browser';
import { nodeRedReleases, startNodeRed, waitFor, type NodeRedInstance, type NodeRedRelease } from '../helpers/nodered';
import { adminCall, adminToken, logProblems, prepareEditorUserDir } from '../helpers/nrcert-editor';

const RELEASES = nodeRedReleases(__filename);

interface Cert { names: string[]; notAfter: string; serial: string; daysLeft: number }
const published = (editorDir: string): Cert => JSON.parse(readFileSync(join(editorDir, 'status.json'), 'utf8')).status.certificates[0];
const received = (file: string): Array<{ topic: string; event: Record<string, unknown> }> => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
};

describe.each(RELEASES)('nrcert and node-red-contrib-nrcert in a real $name', (release: NodeRedRelease) => {
  let stack: Stack;
  let env: Record<string, string>;
  let editorDir: string;
  let outFile: string;
  let nodeRed: NodeRedInstance;
  let service: ReturnType<typeof startCli> | undefined;
  let admin: string;

  beforeAll(async () => {
    stack = await startStack();
    const certDir = join(stack.dir, 'certs');
    editorDir = join(certDir, 'editor');
    // EDITOR_RENEW_INTERVAL=1: only "a renewal is running" refuses a second Renew now here.
    env = stack.env({ EDITOR_DIR: editorDir, EDITOR_RENEW_INTERVAL: '1', RENEW_SCHEDULE: '0 0 1 1 *', RENEW_START_DELAY: '86400' });
    expect((await runCli(['renew'], env, stack.dir)).code).toBe(0);
    expect((await runCli(['clients', 'init'], env, stack.dir)).code).toBe(0);
    const userDir = join(stack.dir, 'node-red');
    outFile = join(stack.dir, 'events.out');
    await prepareEditorUserDir(userDir, { release, editorDir });
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify([
      { id: 't1', type: 'tab', label: 'nrcert' },
      { id: 'ev1', z: 't1', type: 'nrcert-events', name: '', x: 120, y: 80, wires: [['c1']] },
      { id: 'c1', z: 't1', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"topic": topic, "event": payload}', tot: 'jsonata' }], x: 330, y: 80, wires: [['f1']] },
      { id: 'f1', z: 't1', type: 'file', filename: outFile, filenameType: 'str', appendNewline: true, createDir: false, overwriteFile: 'false', encoding: 'none', x: 640, y: 80, wires: [[]] },
    ]));
    nodeRed = await startNodeRed({ userDir, release });
    await nodeRed.waitForTls(30_000);
    await waitFor(() => nodeRed.readLog().includes('Started flows'), 30_000, { what: 'Node-RED started its flows' });
    admin = await adminToken(nodeRed, 'admin');
    service = startCli(['run'], env, stack.dir);
  }, 180_000);

  afterAll(async () => {
    if (service) expect((await stopCli(service)).code).toBe(0);
    await nodeRed?.stop();
    await stack?.stop();
  });

  it('a flow gets `renewed` after a real renew --force, and `renewal_failed` after a Cloudflare failure', async () => {
    const renewed = await runCli(['renew', '--force'], env, stack.dir);
    expect(renewed.code).toBe(0);
    await waitFor(() => received(outFile).some((m) => m.topic === 'renewed'), 20_000, { what: 'the renewed event in the flow' });
    const ok = received(outFile).find((m) => m.topic === 'renewed')!;
    expect(ok.event).toMatchObject({ type: 'renewed', names: ['example.test', '*.example.test'], notAfter: published(editorDir).notAfter });

    stack.fake.failAlways({ method: 'POST', pathIncludes: '/dns_records' }, { status: 403, code: 10000, message: 'Authentication error' });
    try {
      const failed = await runCli(['renew', '--force'], env, stack.dir);
      expect(failed.code).not.toBe(0);
    } finally {
      stack.fake.clearFailures();
    }
    await waitFor(() => received(outFile).some((m) => m.topic === 'renewal_failed'), 20_000, { what: 'the renewal_failed event in the flow' });
    const bad = received(outFile).find((m) => m.topic === 'renewal_failed')!;
    expect(bad.event).toMatchObject({ type: 'renewal_failed', names: ['example.test', '*.example.test'], error: expect.any(String) });
    expect(received(outFile).map((m) => m.topic)).toEqual(['renewed', 'renewal_failed']);
    expect(JSON.stringify(received(outFile))).not.toContain(SENTINEL_TOKEN);
  }, 120_000);

  it('Renew now through the admin API makes `nrcert run` renew; a second request meanwhile is refused politely', async () => {
    const before = published(editorDir).serial;
    const first = await adminCall(nodeRed, '/nrcert/renew', { method: 'POST', token: admin });
    expect(first.status).toBe(202);
    const job = async (id: string) => (await adminCall(nodeRed, `/nrcert/jobs/${id}`, { token: admin })).json();
    await waitFor(async () => (await job(first.json().id)).state === 'running', 20_000, { intervalMs: 20, what: 'the first Renew now running' });
    const second = await adminCall(nodeRed, '/nrcert/renew', { method: 'POST', token: admin });
    expect(second.status).toBe(202);
    await waitFor(async () => (await job(second.json().id)).state === 'refused', 20_000, { what: 'the second Renew now refused' });
    expect((await job(second.json().id)).message).toMatch(/running/i);
    const asked = Date.now();
    await waitFor(async () => (await job(first.json().id)).state === 'succeeded', 30_000, { intervalMs: 100, what: 'the first Renew now succeeded' });
    process.stdout.write(`Renew now: the running job succeeded ${Date.now() - asked} ms after the second request was refused\n`);
    expect(published(editorDir).serial).not.toBe(before);
  }, 90_000);

  it('adds a client certificate through the admin API, hands its .p12 out once (real openssl opens it with the password) and revokes it', async () => {
    const job = async (id: string) => (await adminCall(nodeRed, `/nrcert/jobs/${id}`, { token: admin })).json();
    const added = await adminCall(nodeRed, '/nrcert/clients', { method: 'POST', token: admin, body: { name: 'phone' } });
    expect(added.status).toBe(202);
    const { id, password } = added.json();
    await waitFor(async () => (await job(id)).state === 'succeeded', 30_000, { intervalMs: 100, what: 'the client-add job succeeded' });
    expect((await job(id)).download).toBe(`${id}.p12`);
    const download = await adminCall(nodeRed, `/nrcert/clients/download/${id}`, { token: admin });
    expect(download.status).toBe(200);
    const p12 = join(stack.dir, 'phone.p12');
    writeFileSync(p12, download.raw);
    expect(identityFromP12(p12, password).cert).toContain('BEGIN CERTIFICATE');
    expect((await adminCall(nodeRed, `/nrcert/clients/download/${id}`, { token: admin })).status).toBe(410);
    expect(existsSync(join(editorDir, 'requests', `${id}.p12`))).toBe(false);

    const clients = async () => (await adminCall(nodeRed, '/nrcert/clients', { token: admin })).json() as { configured: boolean; clients: Array<{ name: string; serial: string; revoked: boolean }> };
    await waitFor(async () => (await clients()).clients.some((c) => c.name === 'phone'), 10_000, { what: 'phone in clients.json' });
    const phone = (await clients()).clients.find((c) => c.name === 'phone')!;
    expect(phone.revoked).toBe(false);
    const revoke = await adminCall(nodeRed, `/nrcert/clients/${phone.serial}/revoke`, { method: 'POST', token: admin });
    expect(revoke.status).toBe(202);
    await waitFor(async () => (await job(revoke.json().id)).state === 'succeeded', 30_000, { intervalMs: 100, what: 'the client-revoke job succeeded' });
    await waitFor(async () => (await clients()).clients.find((c) => c.name === 'phone')!.revoked, 10_000, { what: 'phone revoked in clients.json' });
    expect(nodeRed.readLog()).not.toContain(password);
  }, 90_000);

  describe('in a real browser', () => {
    let context: BrowserContext | undefined;
    afterAll(async () => {
      await context?.close();
    });

    it('logs in, opens the Certificates tab, sees names and days left, presses Renew now and sees the new expiry; adds a client and downloads its .p12', async () => {
      // The previous test's renewal may still be inside EDITOR_RENEW_INTERVAL (1 s).
      await new Promise((r) => setTimeout(r, 1100));
      context = await launchChromium(join(stack.dir, 'chromium-profile'));
      const page = await loginToEditor(context, nodeRed, 'admin');
      await openCertificatesTab(page, release.major);
      const before = published(editorDir);
      await expect(page.locator('.nrcert-names').textContent()).resolves.toBe('example.test, *.example.test');
      const expiry = page.locator('.nrcert-expiry');
      await expect(expiry.textContent()).resolves.toContain(`(${before.daysLeft} days left)`);
      await expect(expiry.getAttribute('data-not-after')).resolves.toBe(before.notAfter);
      await page.click('.nrcert-renew');
      await page.waitForSelector('.nrcert-job[data-state="succeeded"]', { timeout: 60_000 });
      const after = published(editorDir);
      expect(after.serial).not.toBe(before.serial);
      await page.waitForSelector(`.nrcert-expiry[data-not-after="${after.notAfter}"]`, { timeout: 15_000 });
      await expect(page.locator('.nrcert-last-run').textContent()).resolves.toContain('renewed');
      await expiry.scrollIntoViewIfNeeded();
      const shot = await screenshot(page, `editor-certificates-tab-node-red-${release.major}`);
      process.stdout.write(`screenshot of the Certificates tab after Renew now: ${shot}\n`);

      // Add a client certificate and download its .p12 through the browser.
      await page.fill('.nrcert-client-name', 'laptop');
      await page.click('.nrcert-clients button:has-text("Add")');
      await page.waitForSelector('.nrcert-job[data-state="succeeded"] button:has-text("Download")', { timeout: 30_000 });
      const password = (await page.locator('.nrcert-job code').textContent())!;
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('.nrcert-job button:has-text("Download")')]);
      const p12 = join(stack.dir, 'laptop.p12');
      await download.saveAs(p12);
      expect(identityFromP12(p12, password).cert).toContain('BEGIN CERTIFICATE');
      expect(logProblems(nodeRed.readLog()).filter((l) => /nrcert/i.test(l))).toEqual([]);
      expect(nodeRed.readLog()).not.toContain(SENTINEL_TOKEN);
    }, 120_000);

    it('a read-only user sees the tab and cannot act: Renew now is disabled, no add or revoke', async () => {
      const viewerContext = await launchChromium(join(stack.dir, 'chromium-profile-viewer'));
      try {
        const page = await loginToEditor(viewerContext, nodeRed, 'viewer');
        await openCertificatesTab(page, release.major);
        await expect(page.locator('.nrcert-names').textContent()).resolves.toBe('example.test, *.example.test');
        await expect(page.locator('.nrcert-renew').isDisabled()).resolves.toBe(true);
        await expect(page.locator('.nrcert-read-only').isVisible()).resolves.toBe(true);
        await expect(page.locator('.nrcert-client-name').count()).resolves.toBe(0);
        await expect(page.locator('.nrcert-clients button:has-text("Revoke")').count()).resolves.toBe(0);
        await expect(page.locator('.nrcert-clients').textContent()).resolves.toContain('laptop');
      } finally {
        await viewerContext.close();
      }
    }, 120_000);
  });
});
