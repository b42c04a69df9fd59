/**
 * The decisions of `nrcert init`'s new steps, in memory: a failing token asked again alone, the
 * NODE_RED_URL derived from settings.js, the login offered only when settings.js has none (the
 * password typed twice, never said), the exact restart command printed when init has none, and
 * where the systemd unit goes (STATE_DIR; none with RESTART_COMMAND=auto under NoNewPrivileges).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config/config';
import { Secret } from '../../src/config/secret';
import type { Machine } from '../../src/init/detect';
import { nodeRedUrl } from '../../src/init/settings-step';
import { askLogin } from '../../src/init/login-step';
import type { Prompter } from '../../src/init/prompt';
import { askQuestions, TokenRejectedError, type InitFlags, type QuestionContext } from '../../src/init/questions';
import { restartHint } from '../../src/init/serve-step';
import { offerService, type ServiceStepDeps } from '../../src/init/service-step';
import type { SettingsProbe } from '../../src/nodered/settings-probe';

function machine(files: string[], env: Record<string, string> = {}): Machine {
  return { home: '/home/me', env, exists: (p) => files.includes(p), readFile: () => '', unitDirs: ['/etc/systemd/system'] };
}

/** A prompter answering from a list; records the questions. */
function scripted(answers: Array<string | null>) {
  const asked: string[] = [];
  const prompter: Prompter = {
    ask: async (q) => (asked.push(q), answers.shift() ?? null),
    askSecret: async (q) => (asked.push(`(hidden) ${q}`), answers.shift() ?? null),
    close: () => {},
  };
  return { prompter, asked };
}

describe('the token, checked right after it is given', () => {
  function context(prompter: Prompter, flags: Partial<InitFlags>, verdicts: boolean[]): QuestionContext & { said: string[]; checked: string[] } {
    const said: string[] = [];
    const checked: string[] = [];
    const verifyToken = async (domains: string[], token: Secret) => (checked.push(`${domains.join(',')} ${token.reveal()}`), verdicts.shift() ?? false);
    return { flags: { interactive: true, ...flags }, current: {}, machine: machine(['/home/me/.node-red']), prompter, say: (l) => said.push(l), verifyToken, said, checked };
  }

  it('interactive: a failing token is asked again, alone; the domain is not asked twice', async () => {
    const { prompter, asked } = scripted(['example.test', 'bad-token', 'good-token', '', '', '', '']);
    const ctx = context(prompter, {}, [false, true]);
    const a = await askQuestions(ctx);
    expect(a.token.reveal()).toBe('good-token');
    expect(ctx.checked).toEqual(['example.test,*.example.test bad-token', 'example.test,*.example.test good-token']);
    expect(asked.filter((q) => q.startsWith('Your domain'))).toHaveLength(1);
    expect(asked.filter((q) => q.includes('Cloudflare API token'))).toHaveLength(2);
    expect(ctx.said.some((l) => l.includes('paste it again'))).toBe(true);
  });

  it('non-interactive: a failing token stops init before anything else is asked (exit 5)', async () => {
    const { prompter } = scripted([]);
    const ctx = context(prompter, { interactive: false, domain: 'example.test', token: new Secret('bad') }, [false]);
    const err = await askQuestions(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenRejectedError);
    expect((err as TokenRejectedError).exitCode).toBe(5);
  });

  it('Enter keeps a token .env refers to (CLOUDFLARE_API_TOKEN_FILE): not turned into a copy', async () => {
    const { prompter } = scripted(['', '', '', '', '', '', '']);
    const ctx = { ...context(prompter, {}, [true]), current: { DOMAINS: 'example.test,*.example.test', CLOUDFLARE_API_TOKEN_FILE: '/root/cf-token' }, currentToken: new Secret('tok') };
    expect(await askQuestions(ctx)).toMatchObject({ tokenChanged: false, tokenFile: undefined });
  });

  it('--token-file is kept as a reference for .env', async () => {
    const { prompter } = scripted([]);
    const ctx = context(prompter, { interactive: false, domain: 'example.test', token: new Secret('tok'), tokenFile: '/root/cf-token', restart: 'none' }, [true]);
    expect(await askQuestions(ctx)).toMatchObject({ tokenFile: '/root/cf-token', tokenChanged: true });
  });
});

describe('NODE_RED_URL from settings.js', () => {
  it.each([
    [{ uiHost: null, uiPort: null }, 'https://127.0.0.1:1880'],
    [{ uiHost: '0.0.0.0', uiPort: 1881 }, 'https://127.0.0.1:1881'],
    [{ uiHost: '::', uiPort: null }, 'https://127.0.0.1:1880'],
    [{ uiHost: '::1', uiPort: 1880 }, 'https://[::1]:1880'],
    [{ uiHost: '192.168.1.20', uiPort: 8443 }, 'https://192.168.1.20:8443'],
  ])('%j gives %s', (probe, url) => {
    expect(nodeRedUrl(probe)).toBe(url);
  });
});

describe('the login step', () => {
  const bare: SettingsProbe = { path: '/s.js', found: true, pemFiles: [], adminAuth: null, httpNodeAuth: null, httpStaticAuth: null, httpStatic: false };

  it('no adminAuth: offers one; the password is typed twice until both match; the same login for httpNodeAuth', async () => {
    const { prompter, asked } = scripted(['', 'bad name', 'ops', 'short', 'long-enough-1', 'other-one-22', 'long-enough-1', 'long-enough-1', 'y']);
    const said: string[] = [];
    const plan = await askLogin({ flags: { interactive: true }, prompter, say: (l) => said.push(l) }, bare);
    expect(plan).toMatchObject({ user: 'ops', scope: { nodes: true, static: false } });
    expect(plan!.password.reveal()).toBe('long-enough-1');
    expect(asked.filter((q) => q.startsWith('(hidden) Password'))).toHaveLength(5);
    expect(said.some((l) => l.includes('do not match'))).toBe(true);
    expect(said.some((l) => l.includes('at least 8 characters'))).toBe(true);
    expect(JSON.stringify([asked, said])).not.toContain('long-enough-1');
  });

  it('httpStatic set: offers httpStaticAuth too', async () => {
    const { prompter, asked } = scripted(['y', 'admin', 'long-enough-1', 'long-enough-1', 'n', 'y']);
    const plan = await askLogin({ flags: { interactive: true }, prompter, say: () => {} }, { ...bare, httpStatic: true });
    expect(plan!.scope).toEqual({ nodes: false, static: true });
    expect(asked.at(-1)).toContain('httpStaticAuth');
  });

  it('adminAuth already set (by nrcert or by hand): nothing is asked', async () => {
    const { prompter, asked } = scripted([]);
    const probe = { ...bare, adminAuth: { type: 'credentials', users: [], defaultPermissions: null } };
    expect(await askLogin({ flags: { interactive: true }, prompter, say: () => {} }, probe)).toBeNull();
    expect(asked).toEqual([]);
  });

  it('non-interactive without --admin-user: a warning, no login', async () => {
    const said: string[] = [];
    expect(await askLogin({ flags: { interactive: false }, prompter: scripted([]).prompter, say: (l) => said.push(l) }, bare)).toBeNull();
    expect(said.join('\n')).toMatch(/no login \(adminAuth\).*--admin-user NAME --admin-password-file FILE/);
  });
});

describe('the restart command init prints when it has none', () => {
  it.each([
    ['node-red-restart', ['/usr/bin/node-red-restart', '/etc/systemd/system/nodered.service'], 1000],
    ['sudo systemctl restart nodered', ['/etc/systemd/system/nodered.service'], 1000],
    ['systemctl restart nodered', ['/etc/systemd/system/nodered.service'], 0],
    ['docker restart ', ['/.dockerenv'], 1000],
  ])('%s (files %j, uid %d)', (command, files, uid) => {
    expect(restartHint(machine(files as string[], { PATH: '/usr/bin' }), uid as number)).toContain(command);
  });
});

describe('the service unit init writes', () => {
  const ROOT = join(__dirname, '..', '..');
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), 'nrcert-unit-'))));
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  function deps(said: string[]): ServiceStepDeps {
    return {
      envFile: join(tmp, '.env'), noService: false, say: (l) => said.push(l), confirm: async () => false,
      service: { root: ROOT, node: '/usr/bin/node', user: { name: 'pi', group: 'pi' } },
    };
  }

  it('goes to STATE_DIR, never beside .env or into the checkout', async () => {
    const said: string[] = [];
    const config = { restart: undefined, certDir: join(tmp, 'certs'), stateDir: join(tmp, 'state') } as unknown as Config;
    await offerService(config, deps(said));
    expect(readFileSync(join(tmp, 'state', 'nrcert.service'), 'utf8')).toContain('User=pi');
    expect(existsSync(join(tmp, 'nrcert.service'))).toBe(false);
    expect(existsSync(join(ROOT, 'nrcert.service'))).toBe(false);
    expect(said.join('\n')).toContain(`install -m 0644 ${join(tmp, 'state', 'nrcert.service')} /etc/systemd/system/nrcert.service`);
  });

  it('runs as a user with NoNewPrivileges: with RESTART_COMMAND=auto (sudo) no unit is written, and the fix is said', async () => {
    const said: string[] = [];
    const config = { restart: { auto: true }, certDir: join(tmp, 'certs'), stateDir: join(tmp, 'state') } as unknown as Config;
    await offerService(config, deps(said));
    expect(existsSync(join(tmp, 'state', 'nrcert.service'))).toBe(false);
    expect(said.join('\n')).toMatch(/No service unit was written.*NoNewPrivileges=yes.*RESTART_COMMAND=none.*polkit/);
  });
});
