import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { ParsedArgs } from './args';
import { KNOWN_SETTINGS } from '../config/env-file';
import { Secret } from '../config/secret';
import { domainProblem } from '../config/domains';
import { UsageError } from '../errors';
import { createLogger } from '../log';
import { UNIT_DIRS } from '../nodered/restart';
import { runChild } from '../init/child';
import type { Machine } from '../init/detect';
import { runInit, type InitDeps } from '../init/init';
import { streamPrompter } from '../init/prompt';
import type { InitFlags } from '../init/questions';
import { nrcertCommand } from '../util/hint';

/**
 * `nrcert init`: builds what init needs from the process (flags, terminal, signals, the
 * machine) and runs it. NRCERT_SYSTEMD_DIR (tests) puts the service unit elsewhere than
 * /etc/systemd/system and then never runs systemctl.
 */
export async function initCommand(args: ParsedArgs): Promise<number> {
  const cwd = process.cwd();
  const envFile = resolve(cwd, args.options['env-file'] ?? process.env.NRCERT_ENV_FILE ?? '.env');
  const controller = new AbortController();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  let busy: string | undefined;
  let interrupts = 0;
  const onSignal = () => {
    interrupts += 1;
    if (interrupts === 1) {
      if (busy) say(`\nInterrupted: ${busy} first…`);
      controller.abort();
    } else if (busy && interrupts === 2) {
      say(`Still ${busy}; press Ctrl-C again to quit at once (the next ${nrcertCommand('renew')} removes it).`);
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const deps: InitDeps = {
      envFile, cwd, say,
      flags: initFlags(args),
      yes: Boolean(args.flags.yes),
      skipDryRun: Boolean(args.flags['skip-dry-run']),
      noService: Boolean(args.flags['no-service']),
      passthrough: {
        ACME_DIRECTORY: args.options['acme-directory'],
        DNS_RESOLVERS: args.options['dns-resolvers'],
        CLOUDFLARE_BASE_URL: args.options['cloudflare-base-url'],
      },
      env: process.env,
      machine: machine(),
      prompter: streamPrompter({ input: process.stdin, output: process.stdout, signal: controller.signal, onInterrupt: onSignal }),
      signal: controller.signal,
      logger: createLogger(process.env.LOG_LEVEL || 'warn'),
      checkToken: (opts) => (require('../dns/cloudflare/token-check') as typeof import('../dns/cloudflare/token-check')).checkCloudflareToken(opts),
      busy: (what) => (busy = what),
      nrcert: (argv, env) => runChild(process.execPath, ['--', join(__dirname, 'index.js'), ...argv], { ...childEnv(), ...env }, controller.signal),
      service: serviceSetup(),
    };
    return await runInit(deps);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function initFlags(args: ParsedArgs): InitFlags {
  const o = args.options;
  if (o['token-file'] !== undefined && o['token-env'] !== undefined) throw new UsageError('give --token-file or --token-env, not both');
  const delegate = o['delegate-to'];
  const badZone = delegate === undefined ? null : delegate.includes('*') ? 'is a wildcard: give the zone, e.g. example-acme.net' : domainProblem(delegate);
  if (badZone) throw new UsageError(`--delegate-to: "${delegate}" ${badZone}`);
  return {
    interactive: !args.flags['non-interactive'],
    domain: o.domain, delegateTo: o['delegate-to'], nodeRedDir: o['node-red-dir'], restart: o.restart, notifyUrl: o['notify-url'], email: o.email,
    token: o['token-file'] !== undefined ? tokenFromFile(o['token-file']) : o['token-env'] !== undefined ? tokenFromEnv(o['token-env']) : undefined,
    tokenFile: o['token-file'] !== undefined ? resolve(o['token-file']) : undefined,
    adminUser: o['admin-user'], adminPasswordFile: o['admin-password-file'],
    nodeAuth: Boolean(args.flags['node-auth']), staticAuth: Boolean(args.flags['static-auth']),
  };
}

function tokenFromFile(path: string): Secret {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8').trim();
  } catch (err) {
    throw new UsageError(`--token-file: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!text) throw new UsageError(`--token-file: ${path} is empty`);
  return new Secret(text);
}

function tokenFromEnv(name: string): Secret {
  const value = process.env[name]?.trim();
  if (!value) throw new UsageError(`--token-env: the environment variable ${name} is not set or empty`);
  return new Secret(value);
}

function machine(): Machine {
  return {
    home: homedir(),
    env: process.env,
    exists: existsSync,
    readFile: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    },
    unitDirs: UNIT_DIRS,
  };
}

/** The environment of the renew child: ours without nrcert's settings, so it runs on exactly the .env written. */
function childEnv(): Record<string, string | undefined> {
  const keep = new Set(['NODE_EXTRA_CA_CERTS', 'LOG_LEVEL']);
  const drop = new Set<string>(KNOWN_SETTINGS.filter((name) => !keep.has(name)));
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !drop.has(name)));
}

function serviceSetup(): InitDeps['service'] {
  const root = join(__dirname, '..', '..');
  const uid = process.getuid?.() ?? -1;
  const override = process.env.NRCERT_SYSTEMD_DIR;
  const systemd = override !== undefined || existsSync('/run/systemd/system');
  return {
    root,
    node: process.execPath,
    user: uid === 0 ? undefined : { name: userInfo().username, group: groupName(process.getgid?.() ?? -1) },
    target: uid === 0 && systemd ? { unitDir: override ?? '/etc/systemd/system', runSystemctl: override === undefined } : undefined,
  };
}

function groupName(gid: number): string {
  const line = (existsSync('/etc/group') ? readFileSync('/etc/group', 'utf8') : '').split('\n').find((l) => l.split(':')[2] === String(gid));
  return line?.split(':')[0] ?? String(gid);
}
