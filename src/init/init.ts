/**
 * `nrcert init`: asks a few questions, proves the Cloudflare token works right after it is given
 * (a canary record, always removed; a failing token alone is asked again), derives NODE_RED_URL
 * from settings.js, and only then writes .env (atomically, 0600). Then it shows and, if agreed,
 * applies the settings.js change and a login (login-step.ts), runs a dry run and the real renewal
 * in child processes, restarts Node-RED once and ends only when Node-RED serves the certificate
 * (serve-step.ts), and installs the systemd service or writes it to STATE_DIR with the commands.
 * What is already applied is recognised and not offered again. Ctrl-C before .env is written
 * leaves nothing behind; the token check removes its record before stopping.
 */
import { expandPath } from '../config/config';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, ACME_DIRECTORIES, type Config } from '../config/config';
import { readEnvFile } from '../config/env-file';
import { Secret } from '../config/secret';
import type { TokenCheck, TokenCheckOptions } from '../dns/cloudflare/token-check';
import { AbortedError, ConfigError, ExitCode } from '../errors';
import type { Logger } from '../log';
import { DEFAULT_REFRESH_MINUTES } from '../nodered/settings';
import { writeFileAtomic } from '../store/atomic';
import type { Machine } from './detect';
import { updateEnvText } from './env-text';
import { nodeRedCannotRead } from './prove';
import type { Prompter } from './prompt';
import { askLogin, applyLoginPlan, type LoginPlan } from './login-step';
import { askQuestions, TokenRejectedError, type Answers, type InitFlags } from './questions';
import { tokenWorks } from './token-step';
import { ensureServed } from './serve-step';
import type { ServicePaths, ServiceTarget } from './service';
import { offerService } from './service-step';
import { applySettingsFile, askSettings, guarded, httpsBlockApplied, nodeRedUrl, probeFor, type StepContext } from './settings-step';
import { nrcertCommand } from '../util/hint';

/** Settings init may write besides the answers, from flags or the environment (tests point them at Pebble). */
export const PASSTHROUGH = ['ACME_DIRECTORY', 'DNS_RESOLVERS', 'CLOUDFLARE_BASE_URL'] as const;

/** Everything init needs, built by the CLI. */
export interface InitDeps {
  envFile: string;
  cwd: string;
  flags: InitFlags;
  yes: boolean;
  skipDryRun: boolean;
  noService: boolean;
  /** --acme-directory etc., by setting name. */
  passthrough: Partial<Record<(typeof PASSTHROUGH)[number], string>>;
  env: Record<string, string | undefined>;
  machine: Machine;
  prompter: Prompter;
  say: (line: string) => void;
  signal: AbortSignal;
  logger: Logger;
  checkToken: (opts: TokenCheckOptions) => Promise<TokenCheck>;
  /** Tells the CLI that a Ctrl-C must wait for `what` (undefined: nothing to wait for). */
  busy: (what: string | undefined) => void;
  /** Runs `nrcert <args>` in a child process (with `env` added to its environment); resolves its exit code. */
  nrcert: (args: string[], env?: Record<string, string>) => Promise<number>;
  service: { root: string; node: string; user?: ServicePaths['user']; target?: ServiceTarget };
}

/** Runs init; resolves the exit code. */
export async function runInit(deps: InitDeps): Promise<number> {
  let written = false;
  try {
    const current = readCurrent(deps.envFile);
    deps.say(`nrcert init: sets up ${deps.envFile}. Press Enter to keep the [default]; Ctrl-C stops without writing anything.`);
    const cloudflare = { ...current, ...passthroughValues(current, deps) };
    const answers = await askQuestions({
      flags: deps.flags, current, currentToken: tokenOf(current, deps), envToken: secretOf(deps.env.CLOUDFLARE_API_TOKEN),
      machine: deps.machine, prompter: deps.prompter, say: deps.say,
      verifyToken: (domains, token) => tokenWorks(domains, token, cloudflare, deps),
    });
    const values = { ...current, ...newValues(answers, current, deps) };
    const probe = await probeFor(answers.nodeRedDir, deps);
    const applyWanted = await askSettings(validate(values, deps), join(answers.nodeRedDir, 'settings.js'), stepContext(deps));
    // The served-certificate check, on by default once Node-RED uses (or is about to use) HTTPS.
    const https = applyWanted || (probe?.https !== undefined && probe.https !== 'undefined');
    if (!current.NODE_RED_URL && probe?.found && !probe.error && https) values.NODE_RED_URL = nodeRedUrl(probe);
    const config = validate(values, deps);
    if (config.nodeRed.url) {
      deps.say(`nrcert checks after every renewal that Node-RED at ${config.nodeRed.url} serves the new certificate, and puts the previous one back if not (NODE_RED_URL${current.NODE_RED_URL ? '' : ', from uiHost/uiPort in settings.js'}).`);
    }
    const login = await askLogin(deps, probe);
    if (deps.signal.aborted) throw new AbortedError();
    await writeEnv(values, current, deps);
    written = true;
    return await finish(config, answers, { applyWanted, login }, deps);
  } catch (err) {
    if (err instanceof TokenRejectedError) {
      deps.say(`The token cannot be used as it is: nothing was written. Fix it as said above and run ${nrcertCommand('init')} again.`);
      return err.exitCode;
    }
    if (!(err instanceof AbortedError)) throw err;
    deps.say(written ? `Interrupted: ${deps.envFile} is written; run ${nrcertCommand('init')} again to finish.` : 'Interrupted: nothing was written.');
    return err.exitCode;
  } finally {
    deps.prompter.close();
  }
}

function secretOf(value: string | undefined): Secret | undefined {
  return value?.trim() ? new Secret(value.trim()) : undefined;
}

/** The values of the existing .env (none when there is none yet). */
function readCurrent(envFile: string): Record<string, string> {
  if (!existsSync(envFile)) return {};
  try {
    return readEnvFile(envFile).values;
  } catch (err) {
    throw new ConfigError([`${envFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check its permissions, or run ${nrcertCommand('init')} as its owner`]);
  }
}

/** The token the current .env yields: CLOUDFLARE_API_TOKEN, or the contents of CLOUDFLARE_API_TOKEN_FILE. */
function tokenOf(current: Record<string, string>, deps: InitDeps): Secret | undefined {
  if (current.CLOUDFLARE_API_TOKEN) return secretOf(current.CLOUDFLARE_API_TOKEN);
  if (!current.CLOUDFLARE_API_TOKEN_FILE) return undefined;
  try {
    const path = expandPath(current.CLOUDFLARE_API_TOKEN_FILE, deps.machine.home, deps.cwd);
    return secretOf(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The settings that change: the answers, and the pass-through settings when given. */
function newValues(a: Answers, current: Record<string, string>, deps: InitDeps): Record<string, string> {
  const values: Record<string, string> = { DOMAINS: a.domains.join(','), NODE_RED_USER_DIR: a.nodeRedDir, RESTART_COMMAND: a.restart };
  if (a.tokenChanged && a.tokenFile) {
    // --token-file: .env refers to the file (which the user keeps) instead of holding a copy.
    values.CLOUDFLARE_API_TOKEN_FILE = a.tokenFile;
    if (current.CLOUDFLARE_API_TOKEN) values.CLOUDFLARE_API_TOKEN = '';
  } else if (a.tokenChanged) {
    values.CLOUDFLARE_API_TOKEN = a.token.reveal();
    if (current.CLOUDFLARE_API_TOKEN_FILE) values.CLOUDFLARE_API_TOKEN_FILE = '';
  }
  const dirMoved = current.NODE_RED_USER_DIR !== undefined && resolve(current.NODE_RED_USER_DIR) !== a.nodeRedDir;
  if (!current.CERT_DIR || dirMoved) values.CERT_DIR = join(a.nodeRedDir, 'certs');
  if (a.notifyUrl !== undefined || current.NOTIFY_URL) values.NOTIFY_URL = a.notifyUrl ?? '';
  if (a.email !== undefined || current.ACME_EMAIL) values.ACME_EMAIL = a.email ?? '';
  return { ...values, ...passthroughValues(current, deps) };
}

/** The pass-through settings given as flags, or from the environment when .env has none. */
function passthroughValues(current: Record<string, string>, deps: InitDeps): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of PASSTHROUGH) {
    const value = deps.passthrough[name] ?? (current[name] === undefined ? deps.env[name] : undefined);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

/** The new settings, validated as `nrcert renew` will read them (alone: no environment mixed in). */
function validate(values: Record<string, string>, deps: InitDeps): Config {
  // NRCERT_ENV_FILE=/dev/null: read no file, so the values are checked exactly as they will be written.
  const env = { ...values, NRCERT_ENV_FILE: '/dev/null', XDG_STATE_HOME: deps.env.XDG_STATE_HOME };
  return loadConfig({ env, home: deps.machine.home, cwd: deps.cwd }, 'renew');
}

async function writeEnv(values: Record<string, string>, current: Record<string, string>, deps: InitDeps): Promise<void> {
  const existing = existsSync(deps.envFile);
  const example = join(deps.service.root, '.env.example');
  const base = existing ? readFileSync(deps.envFile, 'utf8') : existsSync(example) ? readFileSync(example, 'utf8') : '';
  const changed = Object.fromEntries(Object.entries(values).filter(([k, v]) => current[k] !== v || !existing));
  const owner = existing && process.getuid?.() === 0 ? statSync(deps.envFile) : undefined;
  await writeFileAtomic(deps.envFile, updateEnvText(base, changed), 0o600, owner ? { owner: owner.uid, group: owner.gid } : {});
  const names = Object.keys(changed).join(', ');
  deps.say(`Wrote ${deps.envFile} (mode 0600: it holds the token, keep it private)${names ? `; set ${names}` : '; nothing changed'}.`);
}

/** What to write into settings.js after the dry run. */
interface SettingsPlan {
  applyWanted: boolean;
  login: LoginPlan | null;
}

function stepContext(deps: InitDeps): StepContext {
  return { say: deps.say, machine: deps.machine, confirm: (question) => confirm(question, deps) };
}

/** y/N: --yes answers yes; without a terminal or answer, no. */
async function confirm(question: string, deps: InitDeps): Promise<boolean> {
  if (deps.yes) return true;
  if (!deps.flags.interactive) return false;
  const answer = await deps.prompter.ask(`${question} [y/N]: `);
  return /^y(es)?$/i.test(answer ?? '');
}

/** After .env is written: dry run, settings.js, renewal, Node-RED serving it, service. */
async function finish(config: Config, a: Answers, plan: SettingsPlan, deps: InitDeps): Promise<number> {
  const envArgs = ['--env-file', deps.envFile];
  // The children log only warnings: init prints the progress lines. They neither restart Node-RED nor
  // check it (init does both once, below, after settings.js changed).
  const quiet = { LOG_LEVEL: deps.env.LOG_LEVEL || 'warn' };
  if (!deps.skipDryRun) {
    const code = await dryRun(config, deps, quiet);
    if (code !== ExitCode.ok) return code;
  }
  const { changed: settingsChanged, failed: settingsFailed } = await writeSettings(config, join(a.nodeRedDir, 'settings.js'), plan, deps);
  deps.say('Obtaining and installing the real certificate…');
  const code = await deps.nrcert(['renew', ...envArgs], { ...quiet, RESTART_COMMAND: 'none', NODE_RED_URL: '' });
  if (deps.signal.aborted) throw new AbortedError();
  if (code !== 0) {
    deps.say(`The renewal failed (see above). Run ${nrcertCommand('renew')} --env-file ${deps.envFile} once it is fixed.`);
    return code;
  }
  const unreadable = nodeRedCannotRead(config.certDir, a.nodeRedDir);
  if (unreadable) {
    deps.say(`Not done: ${unreadable}. Node-RED would fail to start; fix that, then run ${nrcertCommand('init')} again.`);
    return ExitCode.install;
  }
  if (settingsFailed) return ExitCode.install;
  const served = await ensureServed({
    config, settingsChanged, interactive: deps.flags.interactive, machine: deps.machine, prompter: deps.prompter,
    say: deps.say, logger: deps.logger, signal: deps.signal, uid: process.getuid?.() ?? -1,
  });
  if (served !== ExitCode.ok) return served;
  await offerService(config, { ...deps, confirm: (q) => confirm(q, deps) });
  deps.say(`Done. ${nrcertCommand('status')} --env-file ${deps.envFile} shows the certificate and when it renews.`);
  return ExitCode.ok;
}

/** The dry run against staging (or ACME_DIRECTORY): one progress line, then the child's outcome. */
async function dryRun(config: Config, deps: InitDeps, env: Record<string, string>): Promise<number> {
  const target = config.acme.directoryUrl === ACME_DIRECTORIES.production ? "Let's Encrypt staging" : config.acme.directoryUrl;
  deps.say(`Dry run: ordering a test certificate from ${target}; nothing is installed. Waiting for Cloudflare, DNS propagation (up to ${config.dns.propagationTimeoutMs / 1000} s) and the CA…`);
  const code = await deps.nrcert(['renew', '--dry-run', '--env-file', deps.envFile], env);
  if (deps.signal.aborted) throw new AbortedError();
  if (code !== 0) {
    deps.say(`The dry run failed (see above). ${deps.envFile} is written: fix the problem, then run ${nrcertCommand('renew')} --dry-run --env-file ${deps.envFile}, or ${nrcertCommand('init')} again.`);
  }
  return code;
}

/** Applies the https block and the login that were agreed; says what it did. */
async function writeSettings(config: Config, settingsPath: string, plan: SettingsPlan, deps: InitDeps): Promise<{ changed: boolean; failed: boolean }> {
  let changed = false;
  let failed = false;
  if (plan.applyWanted) {
    const applied = await applySettingsFile(config, settingsPath, deps);
    failed = applied === null;
    changed = applied === true;
  } else if (deps.machine.exists(settingsPath) && !httpsBlockApplied(deps.machine.readFile(settingsPath), { certDir: config.certDir, refreshMinutes: DEFAULT_REFRESH_MINUTES })) {
    deps.say(`settings.js was not changed; to do it later: ${nrcertCommand('settings')} --apply --env-file ${deps.envFile}`);
  }
  if (plan.login) changed = (await guarded(() => applyLoginPlan(plan.login!, settingsPath, config.certDir, deps.say), deps)) === true || changed;
  return { changed, failed };
}
