/**
 * The parts of `nrcert init` that decide things, in-process: rewriting .env, finding Node-RED,
 * adjusting the systemd unit, and the questions (defaults, re-asking, flags, --non-interactive).
 */
import { parse } from 'dotenv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Secret } from '../../src/config/secret';
import { UsageError } from '../../src/errors';
import { nodeRedDirCandidates, userDirOfUnit, type Machine } from '../../src/init/detect';
import { formatEnvValue, updateEnvText } from '../../src/init/env-text';
import type { Prompter } from '../../src/init/prompt';
import { askQuestions, type InitFlags, type QuestionContext } from '../../src/init/questions';
import { adjustServiceUnit } from '../../src/init/service';

const PI_UNIT = `[Service]
Type=simple
# Run as normal pi user - change to the user name you wish to run Node-RED as
User=pi
Group=pi
WorkingDirectory=/home/pi
#Environment="NODE_RED_OPTIONS=-u /not/this"
ExecStart=/usr/bin/env node-red-pi $NODE_OPTIONS $NODE_RED_OPTIONS
`;

function machine(files: Record<string, string>, env: Record<string, string> = {}): Machine {
  const dirs = new Set(Object.keys(files).flatMap((f) => f.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
  return {
    home: '/home/me', env,
    exists: (p) => p in files || dirs.has(p),
    readFile: (p) => files[p],
    unitDirs: ['/etc/systemd/system', '/lib/systemd/system'],
  };
}

describe('.env rewriting', () => {
  it('sets managed names in place, drops their duplicates, keeps every other line and appends new names', () => {
    const before = '# my settings\nDOMAINS=old.test\nOTHER_TOOL=keep me # comment\n\nexport ACME_EMAIL=a@b.test\nDOMAINS=dup.test\n';
    const after = updateEnvText(before, { DOMAINS: 'new.test,*.new.test', ACME_EMAIL: '', RESTART_COMMAND: 'none' });
    expect(after).toBe('# my settings\nDOMAINS=new.test,*.new.test\nOTHER_TOOL=keep me # comment\n\nACME_EMAIL=\n\n# Added by nrcert init\nRESTART_COMMAND=none\n');
  });

  it('keeps CRLF line ends', () => {
    expect(updateEnvText('A=1\r\nDOMAINS=x\r\n', { DOMAINS: 'y.test' })).toBe('A=1\r\nDOMAINS=y.test\r\n');
  });

  it.each(['pm2 restart node-red', 'sh -c "echo hi"', "it's #1", 'a\'b"c', 'https://ntfy.sh/topic?x=1&y=2'])('writes %j so dotenv reads it back unchanged', (value) => {
    expect(parse(`X=${formatEnvValue(value)}\n`).X).toBe(value);
  });
});

describe('finding Node-RED', () => {
  it('takes the user directory of the Pi installer\'s unit from its User= (comments ignored)', () => {
    const m = machine({ '/etc/passwd': 'root:x:0:0::/root:/bin/sh\npi:x:1000:1000::/home/pi:/bin/bash\n' });
    expect(userDirOfUnit(PI_UNIT, m)).toBe('/home/pi/.node-red');
    expect(userDirOfUnit('[Service]\nWorkingDirectory=/srv\nExecStart=/usr/bin/node-red --userDir data\n', m)).toBe('/srv/data');
  });

  it('offers NODE_RED_USER_DIR, then the unit\'s directory, then ~/.node-red, then /data, each only when it exists', () => {
    const m = machine({
      '/lib/systemd/system/nodered.service': PI_UNIT, '/etc/passwd': 'pi:x:1000:1000::/home/pi:/bin/bash\n',
      '/home/pi/.node-red/settings.js': '', '/home/me/.node-red/settings.js': '', '/data/settings.js': '', '/opt/nr/settings.js': '',
    }, { NODE_RED_USER_DIR: '/opt/nr' });
    expect(nodeRedDirCandidates(m).map((c) => c.dir)).toEqual(['/opt/nr', '/home/pi/.node-red', '/home/me/.node-red', '/data']);
    expect(nodeRedDirCandidates(machine({})).map((c) => c.dir)).toEqual([]);
  });
});

describe('the systemd unit', () => {
  const template = readFileSync(join(__dirname, '..', '..', 'deploy', 'systemd', 'nrcert.service'), 'utf8');
  const paths = { root: '/home/pi/nrcert', node: '/usr/local/bin/node', envFile: '/home/pi/nrcert/.env', certDir: '/home/pi/.node-red/certs', stateDir: '/root/.local/state/nrcert' };

  it('gets this install\'s paths, and runs as root without the capability ban when init ran as root', () => {
    const unit = adjustServiceUnit(template, paths);
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/node \/home\/pi\/nrcert\/dist\/cli\/index\.js run$/m);
    expect(unit).toMatch(/^WorkingDirectory=\/home\/pi\/nrcert$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/home\/pi\/nrcert\/\.env$/m);
    expect(unit).toMatch(/^ReadWritePaths=\/home\/pi\/\.node-red\/certs \/root\/\.local\/state\/nrcert$/m);
    expect(unit).not.toMatch(/^(User|Group|SupplementaryGroups|CapabilityBoundingSet)=/m);
  });

  it('runs as the user who ran init otherwise', () => {
    const unit = adjustServiceUnit(template, { ...paths, user: { name: 'pi', group: 'pi' } });
    expect(unit).toMatch(/^User=pi$/m);
    expect(unit).toMatch(/^Group=pi$/m);
    expect(unit).toMatch(/^CapabilityBoundingSet=$/m);
    expect(unit).not.toMatch(/^SupplementaryGroups=/m);
  });
});

describe('the questions', () => {
  /** A prompter answering from a list; records the questions and what was said. */
  function scripted(answers: Array<string | null>) {
    const asked: string[] = [];
    const prompter: Prompter = {
      ask: async (q) => (asked.push(q), answers.shift() ?? null),
      askSecret: async (q) => (asked.push(`(hidden) ${q}`), answers.shift() ?? null),
      close: () => {},
    };
    return { prompter, asked };
  }

  function context(prompter: Prompter, flags: Partial<InitFlags> = {}, current: Record<string, string> = {}, token?: string): QuestionContext & { said: string[] } {
    const said: string[] = [];
    const m = machine({ '/home/me/.node-red/settings.js': '' });
    return { flags: { interactive: true, ...flags }, current, currentToken: token ? new Secret(token) : undefined, machine: m, prompter, say: (l) => said.push(l), said };
  }

  it('offers the current .env values as defaults; Enter keeps them, the token included, and it is never shown', async () => {
    const { prompter, asked } = scripted(['', '', '', '', '', 'new@example.test']);
    const current = { DOMAINS: 'example.test,*.example.test', NODE_RED_USER_DIR: '/srv/nr', RESTART_COMMAND: 'pm2 restart node-red', NOTIFY_URL: 'https://ntfy.sh/t' };
    const ctx = context(prompter, {}, current, 'SECRET-current-token');
    const a = await askQuestions(ctx);
    expect(a).toMatchObject({ domains: ['example.test', '*.example.test'], nodeRedDir: '/srv/nr', restart: 'pm2 restart node-red', notifyUrl: 'https://ntfy.sh/t', email: 'new@example.test', tokenChanged: false });
    expect(a.token.reveal()).toBe('SECRET-current-token');
    expect(asked[0]).toContain('[example.test]');
    expect(asked[1]).toBe('(hidden) Cloudflare API token [keep current token ********]: ');
    expect(JSON.stringify([asked, ctx.said])).not.toContain('SECRET');
  });

  it('asks again after an answer that does not parse, saying why', async () => {
    const { prompter, asked } = scripted(['https://example.test/', 'example.test', 'tok', '~/nr', 'auto', 'none', '-', '']);
    const ctx = context(prompter);
    const a = await askQuestions(ctx);
    expect(a).toMatchObject({ domains: ['example.test', '*.example.test'], nodeRedDir: '/home/me/nr', restart: 'none', tokenChanged: true });
    expect(ctx.said).toContain('  "https://example.test/" looks like a URL: give only the name, e.g. example.com');
    expect(ctx.said.some((l) => l.includes('auto needs the nodered systemd unit'))).toBe(true);
    expect(asked.filter((q) => q.startsWith('Restart'))).toHaveLength(2);
  });

  it('takes flags without asking, and with --non-interactive refuses a missing domain or token', async () => {
    const { prompter, asked } = scripted([]);
    const flags = { interactive: false, domain: 'pi.example.test', token: new Secret('tok'), restart: 'none' };
    expect(await askQuestions(context(prompter, flags))).toMatchObject({ domains: ['pi.example.test', '*.pi.example.test'], nodeRedDir: '/home/me/.node-red' });
    expect(asked).toEqual([]);
    await expect(askQuestions(context(prompter, { interactive: false, token: new Secret('t') }))).rejects.toThrow(UsageError);
    await expect(askQuestions(context(prompter, { interactive: false, domain: 'example.test' }))).rejects.toThrow(/--token-file or --token-env/);
  });
});
