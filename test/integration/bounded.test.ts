/**
 * Every wait is bounded, named and interruptible (issue 9 §3), seen from the real CLI against
 * Pebble and the Cloudflare fake: a hook whose grandchild keeps its output open, Cloudflare's
 * Retry-After (too long, or interrupted by SIGTERM), servers that accept and never answer, and a
 * CA that rejects 90 % of nonces. The bounds asserted are generous; the point is that there is one.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, startStack, stopCli, type Stack } from '../helpers/cli';
import { startHangingServer, type HangingServer } from '../helpers/hanging-server';
import { waitFor } from '../helpers/wait';
import { alive } from '../helpers/process';

let stack: Stack;
let hang: HangingServer;
/** A fresh CERT_DIR/STATE_DIR per test: nothing installed, so no ARI request comes first. */
let fresh = 0;

beforeAll(async () => {
  stack = await startStack();
  hang = await startHangingServer();
});
afterAll(async () => {
  await hang?.stop();
  await stack?.stop();
});
afterEach(() => stack.fake.clearFailures());

function env(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  fresh++;
  return stack.env({ CERT_DIR: join(stack.dir, `certs-${fresh}`), STATE_DIR: join(stack.dir, `state-${fresh}`), ...overrides });
}

async function timed(args: string[], e: Record<string, string>) {
  const began = Date.now();
  const result = await runCli(args, e, stack.dir);
  return { ...result, seconds: (Date.now() - began) / 1000 };
}

const challengeRecords = () => stack.fake.records().filter((r) => r.name.startsWith('_acme-challenge'));

test('RESTART_TIMEOUT=2 bounds a hook whose background sleep 301 keeps stdout open; the sleep is killed', async () => {
  const script = join(stack.dir, 'hook.sh');
  const pids = join(stack.dir, 'hook.pids');
  writeFileSync(script, `#!/bin/sh\nsleep 301 &\necho $! >> "${pids}"\necho restarting\n`);
  chmodSync(script, 0o755);
  const result = await timed(['renew', '--force'], env({ RESTART_COMMAND: script, RESTART_TIMEOUT: '2' }));
  const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
  try {
    expect(result.seconds).toBeLessThan(30);
    expect(result.stderr).toMatch(/RESTART_COMMAND \(.*hook\.sh\) did not finish within 2 s.*\(RESTART_TIMEOUT\)/);
    expect(started.length).toBeGreaterThan(0);
    await waitFor(() => started.every((pid) => !alive(pid)), 5000, { what: `the hook's sleep processes ${started.join(', ')} to be gone` });
  } finally {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}, 60_000);

test('Cloudflare answering 429 with Retry-After 120: the run ends at once, naming the wait (exit 5), no TXT left', async () => {
  stack.fake.failAlways({ method: 'POST', pathIncludes: '/dns_records' }, { status: 429, code: 971, message: 'Please wait and consider throttling your request speed', retryAfter: 120 });
  const result = await timed(['renew', '--force'], env());
  expect(result.code).toBe(5);
  expect(result.seconds).toBeLessThan(20);
  expect(result.stderr).toMatch(/nrcert: cloudflare: failed to create TXT record for _acme-challenge\.example\.test: Cloudflare asked to wait 120 s \(HTTP 429\)/);
  expect(challengeRecords()).toEqual([]);
}, 60_000);

test('SIGTERM during an honoured Retry-After wait stops the run at once (exit 130), logged wait; the record made before is removed', async () => {
  // The first TXT record is created; the second create is asked to wait 40 s.
  stack.fake.failNext({ method: 'POST', pathIncludes: '/dns_records' }, { status: 429, code: 971, message: 'Please wait', retryAfter: 40 }, 1, 1);
  const run = startCli(['renew', '--force'], env(), stack.dir);
  let stderr = '';
  run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitFor(() => stderr.includes('Cloudflare asked to wait 40 s (429); waiting'), 30_000, { what: 'the logged Retry-After wait' });
    expect(challengeRecords()).toHaveLength(1);
    const began = Date.now();
    run.child.kill('SIGTERM');
    const result = await run.done;
    expect(Date.now() - began).toBeLessThan(5000);
    expect(result.code).toBe(130);
    expect(challengeRecords()).toEqual([]);
  } finally {
    await stopCli(run, 2000);
  }
}, 60_000);

test('a Cloudflare API that accepts and never answers: exit 5 naming the server, the time and CLOUDFLARE_TIMEOUT', async () => {
  const baseURL = `http://127.0.0.1:${hang.port}/client/v4`;
  const result = await timed(['renew', '--force'], env({ CLOUDFLARE_BASE_URL: baseURL, CLOUDFLARE_TIMEOUT: '2' }));
  expect(result.code).toBe(5);
  expect(result.seconds).toBeLessThan(20);
  expect(result.stderr).toContain(`the Cloudflare API at ${baseURL} did not answer within 2 s (CLOUDFLARE_TIMEOUT raises it)`);
}, 60_000);

test('an ACME directory that accepts and never answers: exit 7 naming the server, the time and ACME_TIMEOUT', async () => {
  const directory = `https://127.0.0.1:${hang.port}/dir`;
  const result = await timed(['renew', '--force'], env({ ACME_DIRECTORY: directory, ACME_TIMEOUT: '2' }));
  expect(result.code).toBe(7);
  expect(result.seconds).toBeLessThan(20);
  expect(result.stderr).toContain(`the ACME server at ${directory} did not answer within 2 s (ACME_TIMEOUT raises it)`);
}, 60_000);

test('ACME_TIMEOUT and CLOUDFLARE_TIMEOUT outside 1-600 s are configuration errors naming them (exit 3)', async () => {
  const result = await timed(['renew', '--force'], env({ ACME_TIMEOUT: '99999999', CLOUDFLARE_TIMEOUT: '0.5' }));
  expect(result.code).toBe(3);
  expect(result.stderr).toMatch(/ACME_TIMEOUT: "99999999" is too long; give at most 600 seconds/);
  expect(result.stderr).toMatch(/CLOUDFLARE_TIMEOUT: "0.5" is shorter than 1 second/);
});

describe('a CA rejecting 90 % of nonces (PEBBLE_WFE_NONCEREJECT=90)', () => {
  let storm: Stack;
  beforeAll(async () => {
    storm = await startStack({ nonceRejectPercent: 90 });
  });
  afterAll(async () => {
    await storm?.stop();
  });

  test('is a transient ACME error naming the CA (exit 7), not a raw library message', async () => {
    const began = Date.now();
    const result = await runCli(['renew', '--force'], storm.env(), storm.dir);
    expect((Date.now() - began) / 1000).toBeLessThan(60);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/nrcert: the ACME server at https:\/\/127\.0\.0\.1:\d+\/dir kept rejecting nonces \(badNonce/);
    const state = JSON.parse(readFileSync(join(storm.env().STATE_DIR, 'renewal-state.json'), 'utf8')) as { lastFailure: { transient: boolean; exitCode: number } };
    expect(state.lastFailure).toMatchObject({ transient: true, exitCode: 7 });
    expect(storm.fake.records().filter((r) => r.name.startsWith('_acme-challenge'))).toEqual([]);
  }, 90_000);
});
