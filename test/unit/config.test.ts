import { cloudflareSettings } from '../../src/dns/cloudflare/config';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ACME_DIRECTORIES, loadConfig, type Config, type ConfigSources } from '../../src/config/config';
import { DEFAULT_MAX_SECONDS, DURATION_MAX_SECONDS, readSeconds } from '../../src/config/values';
import { ConfigError } from '../../src/errors';

const TOKEN = 'SENTINEL-cf-token-0123456789abcdefABCDEF';
const DOMAINS = 'example.com,*.example.com';

let dir: string;
let home: string;
let cwd: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nrcert-config-'));
  home = join(dir, 'home');
  cwd = join(dir, 'work');
  mkdirSync(home);
  mkdirSync(cwd);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function sources(env: Record<string, string | undefined>, more: Partial<ConfigSources> = {}): ConfigSources {
  return { env, home, cwd, ...more };
}

/** The ConfigError that loadConfig throws for these sources (fails the test when none is thrown). */
function problemsOf(src: ConfigSources, purpose: 'renew' | 'status' = 'renew'): ConfigError {
  try {
    loadConfig(src, purpose);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig did not throw');
}

function writeEnv(path: string, text: string): string {
  writeFileSync(path, text);
  return path;
}

describe('loadConfig defaults', () => {
  it('fills every optional setting with its documented default', () => {
    const config = loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN }), 'renew');
    expect(config.envFile).toBeNull();
    expect(config.domains).toEqual(['example.com', '*.example.com']);
    expect(config.certDir).toBe(join(home, '.node-red', 'certs'));
    expect(config.stateDir).toBe(join(home, '.local', 'state', 'nrcert'));
    expect(config.acme.directoryUrl).toBe('https://acme-v02.api.letsencrypt.org/directory');
    expect(config.acme.keyType).toBe('ecdsa-p256');
    expect(config.acme.email).toBeUndefined();
    expect(config.dns.propagationTimeoutMs).toBe(120_000);
    expect(config.dns.resolvers).toBeUndefined();
    expect(config.restart).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(cloudflareSettings(config)!.apiToken?.reveal()).toBe(TOKEN);
  });

  it('puts the state under XDG_STATE_HOME when that is set', () => {
    const config = loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, XDG_STATE_HOME: '/var/xdg' }), 'renew');
    expect(config.stateDir).toBe('/var/xdg/nrcert');
  });

  it('expands ~ against home and resolves relative paths against cwd', () => {
    const config = loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, CERT_DIR: '~/tls', STATE_DIR: 'state' }), 'renew');
    expect(config.certDir).toBe(join(home, 'tls'));
    expect(config.stateDir).toBe(join(cwd, 'state'));
  });

  it('reads the named settings: staging, key type, e-mail, resolvers, timeouts, log level', () => {
    const config = loadConfig(sources({
      DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, ACME_DIRECTORY: 'staging', ACME_KEY_TYPE: 'rsa-2048',
      ACME_EMAIL: 'me@example.com', DNS_RESOLVERS: '127.0.0.1:8053, 1.1.1.1', DNS_PROPAGATION_TIMEOUT: '2.5',
      LOG_LEVEL: 'DEBUG', CLOUDFLARE_ZONE_ID: '0123456789abcdef0123456789abcdef',
    }), 'renew');
    expect(config.acme.directoryUrl).toBe(ACME_DIRECTORIES.staging);
    expect(config.acme.keyType).toBe('rsa-2048');
    expect(config.acme.email).toBe('me@example.com');
    expect(config.dns.resolvers).toEqual(['127.0.0.1:8053', '1.1.1.1']);
    expect(config.dns.propagationTimeoutMs).toBe(2500);
    expect(config.logLevel).toBe('debug');
    expect(cloudflareSettings(config)!.zoneId).toBe('0123456789abcdef0123456789abcdef');
  });

  it('accepts an https directory URL of another CA', () => {
    const config = loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, ACME_DIRECTORY: 'https://127.0.0.1:14000/dir' }), 'renew');
    expect(config.acme.directoryUrl).toBe('https://127.0.0.1:14000/dir');
  });
});

describe('loadConfig env file', () => {
  it('reads ./.env from the working directory by default', () => {
    const path = writeEnv(join(cwd, '.env'), `DOMAINS=${DOMAINS}\nCLOUDFLARE_API_TOKEN=${TOKEN}\n`);
    const config = loadConfig(sources({}), 'renew');
    expect(config.envFile).toBe(path);
    expect(config.domains).toEqual(['example.com', '*.example.com']);
  });

  it('prefers --env-file over NRCERT_ENV_FILE over ./.env', () => {
    writeEnv(join(cwd, '.env'), 'DOMAINS=dotenv.example\n');
    const fromVar = writeEnv(join(dir, 'var.env'), 'DOMAINS=var.example\n');
    const fromFlag = writeEnv(join(dir, 'flag.env'), 'DOMAINS=flag.example\n');

    const byFlag = loadConfig(sources({ NRCERT_ENV_FILE: fromVar }, { envFileFlag: fromFlag }), 'status');
    expect(byFlag.domains).toEqual(['flag.example']);
    expect(byFlag.envFile).toBe(fromFlag);

    const byVar = loadConfig(sources({ NRCERT_ENV_FILE: fromVar }), 'status');
    expect(byVar.domains).toEqual(['var.example']);

    expect(loadConfig(sources({}), 'status').domains).toEqual(['dotenv.example']);
  });

  it('resolves a relative --env-file against cwd', () => {
    const path = writeEnv(join(cwd, 'nrcert.env'), 'DOMAINS=rel.example\n');
    const config = loadConfig(sources({}, { envFileFlag: 'nrcert.env' }), 'status');
    expect(config.envFile).toBe(path);
  });

  it('lets a real environment variable win over the file', () => {
    writeEnv(join(cwd, '.env'), `DOMAINS=file.example\nLOG_LEVEL=debug\nCLOUDFLARE_API_TOKEN=${TOKEN}\n`);
    const config = loadConfig(sources({ DOMAINS: 'env.example', LOG_LEVEL: undefined }), 'renew');
    expect(config.domains).toEqual(['env.example']);
    expect(config.logLevel).toBe('debug');
  });

  it('reports a missing explicit env file, naming the flag or the variable', () => {
    const missing = join(dir, 'nope.env');
    const byFlag = problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN }, { envFileFlag: missing }));
    expect(byFlag.problems).toHaveLength(1);
    expect(byFlag.problems[0]).toContain('--env-file');
    expect(byFlag.problems[0]).toContain(missing);

    const byVar = problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, NRCERT_ENV_FILE: missing }));
    expect(byVar.problems[0]).toContain('NRCERT_ENV_FILE');
  });

  it('is fine without any env file when nothing asked for one', () => {
    expect(() => loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN }), 'renew')).not.toThrow();
  });

  it('names a malformed line and an unknown setting with a suggestion', () => {
    const path = writeEnv(join(cwd, '.env'), [
      '# settings',
      `DOMAIN=${DOMAINS}`,
      'this line is not a setting',
      `CLOUDFLARE_API_TOKEN=${TOKEN}`,
      'FROBNICATE_EVERYTHING=1',
    ].join('\n'));
    const err = problemsOf(sources({}));
    const text = err.problems.join('\n');
    expect(text).toContain(`${path} line 2: unknown setting DOMAIN (did you mean DOMAINS?)`);
    expect(text).toContain(`${path} line 3: expected NAME=value`);
    // A name far from every setting is not a problem (the file may be shared with other tools).
    expect(text).not.toContain('FROBNICATE_EVERYTHING');
    // DOMAINS itself is therefore unset, which is reported too.
    expect(text).toContain('DOMAINS is empty');
  });

  it('only warns about a name that is no setting of ours and close to none', () => {
    const path = writeEnv(join(cwd, '.env'), `DOMAINS=${DOMAINS}\nCLOUDFLARE_API_TOKEN=${TOKEN}\nFROBNICATE_EVERYTHING=1\n`);
    const config = loadConfig(sources({}), 'renew');
    expect(config.warnings).toEqual([`${path} line 3: FROBNICATE_EVERYTHING is not an nrcert setting; it is ignored`]);
  });

  it('names a quoted value that is never closed', () => {
    writeEnv(join(cwd, '.env'), `DOMAINS=${DOMAINS}\nCLOUDFLARE_API_TOKEN=${TOKEN}\nRESTART_COMMAND="systemctl restart nodered\n`);
    const err = problemsOf(sources({}));
    expect(err.problems.join('\n')).toMatch(/quoted value is never closed \(missing "\)/);
  });

  it('accepts comments, blank lines, export, quotes and multi-line quoted values', () => {
    writeEnv(join(cwd, '.env'), [
      '# comment', '', `export DOMAINS="${DOMAINS}"`, `CLOUDFLARE_API_TOKEN='${TOKEN}'`,
      'RESTART_COMMAND="systemctl restart', 'nodered"',
      'LOG_LEVEL=warn # trailing comment',
    ].join('\n'));
    const config = loadConfig(sources({}), 'renew');
    expect(config.domains).toEqual(['example.com', '*.example.com']);
    expect(config.logLevel).toBe('warn');
    expect(config.restart?.argv).toEqual(['systemctl', 'restart', 'nodered']);
  });
});

describe('loadConfig problems', () => {
  it('reports every problem at once, each naming its variable', () => {
    const err = problemsOf(sources({
      DOMAINS: 'https://example.com',
      ACME_DIRECTORY: 'prod',
      ACME_KEY_TYPE: 'ed25519',
      ACME_EMAIL: 'not-an-address',
      ACME_EAB_KID: 'kid',
      DNS_RESOLVERS: '1.1.1.1,not a host',
      DNS_PROPAGATION_TIMEOUT: 'soon',
      CLOUDFLARE_ZONE_ID: 'example.com',
      CLOUDFLARE_BASE_URL: 'api.example',
      RESTART_TIMEOUT: '-1',
      LOG_LEVEL: 'loud',
    }));
    const expected = [
      'DOMAINS', 'ACME_DIRECTORY', 'ACME_KEY_TYPE', 'ACME_EMAIL', 'ACME_EAB_HMAC_KEY',
      'DNS_RESOLVERS', 'DNS_PROPAGATION_TIMEOUT', 'CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ZONE_ID',
      'CLOUDFLARE_BASE_URL', 'RESTART_TIMEOUT', 'LOG_LEVEL',
    ];
    expect(err.problems).toHaveLength(expected.length);
    for (const name of expected) expect(err.problems.some((p) => p.includes(name))).toBe(true);
    for (const problem of err.problems) expect(problem).toMatch(/[A-Z][A-Z_]+[A-Z]/);
    expect(err.message).toContain(`${expected.length} problems`);
  });

  it('names an unknown DNS_PROVIDER with the ones there are, and checks no provider\'s settings then', () => {
    const err = problemsOf(sources({ DOMAINS: 'example.com', DNS_PROVIDER: 'route53', CLOUDFLARE_ZONE_ID: 'x' }), 'renew');
    expect(err.problems).toEqual([expect.stringMatching(/^DNS_PROVIDER: "route53" is not one of cloudflare/)]);
  });

  it('requires CLOUDFLARE_API_TOKEN and DOMAINS for renew but not for status', () => {
    const err = problemsOf(sources({ DOMAINS: '' }), 'renew');
    expect(err.problems.some((p) => p.startsWith('CLOUDFLARE_API_TOKEN is not set'))).toBe(true);
    expect(err.problems.some((p) => p.startsWith('DOMAINS is empty'))).toBe(true);

    const status = loadConfig(sources({}), 'status');
    expect(cloudflareSettings(status)!.apiToken).toBeUndefined();
    expect(status.domains).toEqual([]);
  });

  it('with no .env and no setting in the environment, says where it looked and suggests nrcert init', () => {
    const err = problemsOf(sources({}), 'renew');
    expect(err.problems).toEqual([expect.stringMatching(new RegExp(`^no settings found: ${join(cwd, '.env')} does not exist .*run nrcert init`))]);
    expect(problemsOf(sources({ CLOUDFLARE_API_TOKEN: TOKEN }), 'renew').problems).toEqual([expect.stringMatching(/^DOMAINS is empty/)]);
  });

  it('reads CLOUDFLARE_API_TOKEN_FILE and trims it', () => {
    writeFileSync(join(home, 'cf-token'), `  ${TOKEN}\n\n`);
    const config = loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN_FILE: '~/cf-token' }), 'renew');
    expect(cloudflareSettings(config)!.apiToken?.reveal()).toBe(TOKEN);
  });

  it('reports an unreadable or empty token file, and both token settings at once', () => {
    const missing = problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN_FILE: '/nonexistent/token' }));
    expect(missing.problems).toEqual([expect.stringMatching(/^CLOUDFLARE_API_TOKEN_FILE: cannot read \/nonexistent\/token \(ENOENT\)/)]);

    writeFileSync(join(dir, 'empty'), '\n');
    const empty = problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN_FILE: join(dir, 'empty') }));
    expect(empty.problems).toEqual([expect.stringMatching(/^CLOUDFLARE_API_TOKEN_FILE: .* is empty/)]);

    const both = problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_API_TOKEN_FILE: join(dir, 'empty') }));
    expect(both.problems).toEqual([expect.stringContaining('CLOUDFLARE_API_TOKEN and CLOUDFLARE_API_TOKEN_FILE are both set')]);
  });
});

describe('loadConfig keeps the token secret', () => {
  const leaks = (text: string) => text.includes(TOKEN) || text.includes(TOKEN.slice(0, 20));

  it('never puts the token into a ConfigError, even for a bad token', () => {
    const bad = problemsOf(sources({ DOMAINS: 'not a domain', CLOUDFLARE_API_TOKEN: `${TOKEN} ${TOKEN}`, CLOUDFLARE_ZONE_ID: TOKEN, ACME_EAB_HMAC_KEY: TOKEN }));
    expect(bad.problems.some((p) => p.includes('white space'))).toBe(true);
    expect(leaks(bad.message)).toBe(false);
    expect(leaks(bad.problems.join('\n'))).toBe(false);
    expect(leaks(inspect(bad))).toBe(false);
    expect(leaks(String(bad.stack))).toBe(false);
  });

  it('never shows the token or the EAB key when the config is printed', () => {
    const config: Config = loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, ACME_EAB_KID: 'kid', ACME_EAB_HMAC_KEY: TOKEN }), 'renew');
    expect(config.acme.eab?.hmacKey.reveal()).toBe(TOKEN);
    for (const text of [JSON.stringify(config), inspect(config, { depth: 10 }), String(config), `${cloudflareSettings(config)!.apiToken}`]) {
      expect(leaks(text)).toBe(false);
    }
    expect(JSON.stringify(config)).toContain('"apiToken":"[redacted]"');
  });
});

describe('loadConfig DOMAINS', () => {
  const domains = (raw: string) => loadConfig(sources({ DOMAINS: raw, CLOUDFLARE_API_TOKEN: TOKEN }), 'renew').domains;
  const problems = (raw: string) => problemsOf(sources({ DOMAINS: raw, CLOUDFLARE_API_TOKEN: TOKEN })).problems;

  it('lower-cases, converts IDN to punycode, drops trailing dots and duplicates', () => {
    expect(domains(' Example.COM , *.Example.com., example.com ,*.example.com,bücher.example,*.Bücher.example'))
      .toEqual(['example.com', '*.example.com', 'xn--bcher-kva.example', '*.xn--bcher-kva.example']);
  });

  it.each([
    ['https://example.com', 'looks like a URL'],
    ['example.com/path', 'looks like a URL'],
    ['localhost', 'has no dot'],
    ['example.com *.example.com', 'contains a space'],
    ['*example.com', 'wildcard that is not the whole leftmost label'],
    ['www.*.example.com', 'wildcard that is not the whole leftmost label'],
    ['*.*.example.com', 'wildcard that is not the whole leftmost label'],
    ['-bad.example.com', 'invalid label "-bad"'],
    ['under_score.example.com', 'invalid label "under_score"'],
    ['192.0.2.1', 'is an IP address'],
  ])('names the typo in %s', (raw, what) => {
    const found = problems(raw);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(`DOMAINS: "${raw}"`);
    expect(found[0]).toContain(what);
  });

  it('reports each bad entry and keeps quiet about the good ones', () => {
    const found = problems('example.com,https://a.example,localhost');
    expect(found).toEqual([
      expect.stringContaining('"https://a.example"'),
      expect.stringContaining('"localhost"'),
    ]);
  });

  it('checks DOMAINS for status too when it is set', () => {
    const err = problemsOf(sources({ DOMAINS: 'localhost' }), 'status');
    expect(err.problems).toEqual([expect.stringContaining('has no dot')]);
  });
});

describe('loadConfig RESTART_COMMAND', () => {
  const restart = (raw: string) => loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, RESTART_COMMAND: raw }), 'renew').restart;

  it('splits into argv the way a shell splits words, without a shell', () => {
    expect(restart('sudo systemctl restart nodered')).toEqual({ argv: ['sudo', 'systemctl', 'restart', 'nodered'], auto: false, timeoutMs: 60_000 });
    expect(restart(`docker exec 'node red' sh -c "kill -HUP 1; echo \\"done\\""`)?.argv)
      .toEqual(['docker', 'exec', 'node red', 'sh', '-c', 'kill -HUP 1; echo "done"']);
    expect(restart('echo a\\ b "" c\\"d')?.argv).toEqual(['echo', 'a b', '', 'c"d']);
    expect(restart('echo $HOME `id` > /tmp/x')?.argv).toEqual(['echo', '$HOME', '`id`', '>', '/tmp/x']);
    expect(restart("echo 'it\\'")?.argv).toEqual(['echo', 'it\\']);
  });

  it('treats none and an empty value as no command', () => {
    expect(restart('none')).toBeUndefined();
    expect(restart('auto')).toEqual({ argv: [], auto: true, timeoutMs: 60_000 });
    expect(restart('   ')).toBeUndefined();
  });

  it('uses RESTART_TIMEOUT', () => {
    const config = loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, RESTART_COMMAND: 'true', RESTART_TIMEOUT: '5' }), 'renew');
    expect(config.restart).toEqual({ argv: ['true'], auto: false, timeoutMs: 5000 });
  });

  it('reports an unclosed quote as a problem of RESTART_COMMAND', () => {
    for (const raw of ['systemctl restart "node red', "echo 'oops"]) {
      const err = problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, RESTART_COMMAND: raw }));
      expect(err.problems).toEqual([expect.stringMatching(/^RESTART_COMMAND: unclosed ["'] quote/)]);
    }
  });
});

describe('loadConfig catches what would fail only after an order', () => {
  const problems = (env: Record<string, string>) => problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, ...env })).problems;

  it('refuses a DNS_RESOLVERS port outside 1–65535', () => {
    for (const bad of ['127.0.0.1:99999', '127.0.0.1:0', '[::1]:65536']) {
      expect(problems({ DNS_RESOLVERS: `1.1.1.1,${bad}` })).toEqual([expect.stringMatching(new RegExp(`^DNS_RESOLVERS: "${bad.replace(/[[\].]/g, '\\$&')}" .*port.*1 to 65535`))]);
    }
    const config = loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, DNS_RESOLVERS: '127.0.0.1:65535,[::1]:53,1.1.1.1' }), 'renew');
    expect(config.dns.resolvers).toEqual(['127.0.0.1:65535', '[::1]:53', '1.1.1.1']);
  });

  it('refuses a CLOUDFLARE_BASE_URL without a host or not http(s)', () => {
    for (const bad of ['http://', 'https://', 'ftp://api.example/', 'http:///client/v4', 'https://exa mple/']) {
      expect(problems({ CLOUDFLARE_BASE_URL: bad })).toEqual([expect.stringContaining(`CLOUDFLARE_BASE_URL: "${bad}"`)]);
    }
    const config = loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: 'http://127.0.0.1:8080/client/v4' }), 'renew');
    expect(cloudflareSettings(config)!.baseURL).toBe('http://127.0.0.1:8080/client/v4');
  });

  it('refuses host-less or out-of-range URLs in ACME_DIRECTORY, NODE_RED_URL and NOTIFY_URL', () => {
    expect(problems({ ACME_DIRECTORY: 'https://:14000/dir' })).toEqual([expect.stringMatching(/^ACME_DIRECTORY: /)]);
    expect(problems({ NODE_RED_URL: 'https://127.0.0.1:99999' })).toEqual([expect.stringMatching(/^NODE_RED_URL: /)]);
    expect(problems({ NOTIFY_URL: 'http:///topic' })).toEqual(['NOTIFY_URL is not an http(s) URL']);
  });

  it('refuses more than 100 names, counting them after duplicates are dropped', () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `h${i}.example.com`);
    expect(problems({ DOMAINS: names(101).join(',') })).toEqual([expect.stringMatching(/^DOMAINS: 101 names .*at most 100/)]);
    const hundred = [...names(100), ...names(100).map((n) => n.toUpperCase()), 'h0.example.com.'].join(',');
    expect(loadConfig(sources({ DOMAINS: hundred, CLOUDFLARE_API_TOKEN: TOKEN }), 'renew').domains).toHaveLength(100);
  });

  it('refuses an ACME_EMAIL with a NUL or control character, or malformed, without echoing the raw bytes', () => {
    for (const bad of ['me\u0000@example.com', 'me@example.com\n', 'me@exa\tmple.com', 'me@example.com\u007f']) {
      const found = problems({ ACME_EMAIL: bad });
      expect(found).toEqual([expect.stringMatching(/^ACME_EMAIL: .*control character/)]);
      expect(found[0]).not.toMatch(/[\u0000-\u001f\u007f]/);
    }
    for (const bad of ['me@@example.com', 'me@example', 'me@-bad.example.com', 'me@example..com', '.me@example.com', 'a,b@example.com', 'me@example.com,you@example.com', `${'x'.repeat(250)}@example.com`]) {
      expect(problems({ ACME_EMAIL: bad })).toEqual([expect.stringMatching(/^ACME_EMAIL: .*is not an e-mail address/)]);
    }
    for (const good of ['me@example.com', 'first.last+nrcert@sub.example.co.uk', "o'brien@example.ie"]) {
      expect(loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, ACME_EMAIL: good }), 'renew').acme.email).toBe(good);
    }
  });

  it.each([
    ['RESTART_TIMEOUT', 3600],
    ['NODE_RED_VERIFY_TIMEOUT', 3600],
    ['DNS_PROPAGATION_TIMEOUT', 3600],
    ['RENEW_START_DELAY', 86_400],
  ])('refuses %s above its maximum of %d seconds, naming the maximum', (name, max) => {
    expect(problems({ [name]: '99999999' })).toEqual([expect.stringMatching(new RegExp(`^${name}: "99999999" .*at most ${max} seconds`))]);
    expect(problems({ [name]: String(max + 1) })).toHaveLength(1);
    expect(() => loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, [name]: String(max) }), 'renew')).not.toThrow();
  });

  it('keeps every maximum, and the default one for a setting without its own, below 2^31 ms (setTimeout turns more into 1 ms)', () => {
    for (const max of [DEFAULT_MAX_SECONDS, ...Object.values(DURATION_MAX_SECONDS)]) expect(max * 1000).toBeLessThan(2 ** 31);
    const problems: string[] = [];
    expect(readSeconds({ SOME_NEW_TIMEOUT: String(DEFAULT_MAX_SECONDS + 1) }, 'SOME_NEW_TIMEOUT', 30, problems)).toBe(30_000);
    expect(problems).toEqual([`SOME_NEW_TIMEOUT: "${DEFAULT_MAX_SECONDS + 1}" is too long; give at most ${DEFAULT_MAX_SECONDS} seconds (1 h)`]);
  });

  it('names a NUL in a path or command setting without printing the value', () => {
    const found = problems({ CERT_DIR: '/tmp/a\u0000b', RESTART_COMMAND: 'restart\u0000now' });
    expect(found).toEqual(['CERT_DIR: contains a NUL character; retype the value', 'RESTART_COMMAND: contains a NUL character; retype the value']);
  });
});

describe('loadConfig dangling env file links', () => {
  it('reports a ./.env that is a link to nothing, naming the link and its target', () => {
    const target = join(dir, 'gone.env');
    symlinkSync(target, join(cwd, '.env'));
    const err = problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN }));
    expect(err.problems).toEqual([expect.stringContaining(`${join(cwd, '.env')} is a symbolic link to ${target}, which does not exist`)]);
  });

  it('reports an --env-file or NRCERT_ENV_FILE that is a link to nothing, naming the setting', () => {
    const link = join(dir, 'link.env');
    symlinkSync(join(dir, 'gone.env'), link);
    const byFlag = problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN }, { envFileFlag: link }));
    expect(byFlag.problems).toEqual([expect.stringMatching(/^--env-file: .*link\.env is a symbolic link to .*gone\.env, which does not exist/)]);
    const byVar = problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, NRCERT_ENV_FILE: link }));
    expect(byVar.problems).toEqual([expect.stringMatching(/^NRCERT_ENV_FILE: .*symbolic link/)]);
  });

  it('still reads an env file through a link that resolves', () => {
    writeEnv(join(dir, 'real.env'), 'DOMAINS=linked.example\n');
    symlinkSync(join(dir, 'real.env'), join(cwd, '.env'));
    expect(loadConfig(sources({}), 'status').domains).toEqual(['linked.example']);
  });
});

describe('LOG_FORMAT', () => {
  it('is auto unless set to json or human (any case), and names itself when wrong', () => {
    expect(loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN }), 'renew').logFormat).toBe('auto');
    expect(loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, LOG_FORMAT: 'JSON' }), 'renew').logFormat).toBe('json');
    expect(loadConfig(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, LOG_FORMAT: 'human' }), 'renew').logFormat).toBe('human');
    const err = problemsOf(sources({ DOMAINS, CLOUDFLARE_API_TOKEN: TOKEN, LOG_FORMAT: 'pretty' }));
    expect(err.problems).toEqual(['LOG_FORMAT: "pretty" is not one of auto, json, human']);
  });

  it('is a known setting in the env file (no typo warning)', () => {
    writeEnv(join(cwd, '.env'), `DOMAINS=${DOMAINS}\nCLOUDFLARE_API_TOKEN=${TOKEN}\nLOG_FORMAT=json\n`);
    const config = loadConfig(sources({}), 'renew');
    expect(config.logFormat).toBe('json');
    expect(config.warnings).toEqual([]);
  });
});
