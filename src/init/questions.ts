/**
 * The questions of `nrcert init`, each with its flag and its default (the current .env value on
 * a configured machine, else what was detected). A flag answers its question without asking;
 * with --non-interactive a missing answer falls back to the default or is a UsageError.
 */
import { expandPath } from '../config/config';
import { join } from 'node:path';
import { splitArgv } from '../config/argv';
import { parseDomains } from '../config/domains';
import { Secret } from '../config/secret';
import { TOKEN_PAGE } from '../dns/cloudflare/errors';
import { DnsProviderError, UsageError } from '../errors';
import { defaultRestart, findNodeRedUnit, nodeRedDirCandidates, type Machine } from './detect';
import type { Prompter } from './prompt';

/** Answers given on the command line. */
export interface InitFlags {
  interactive: boolean;
  domain?: string;
  /** --delegate-to: CNAME delegation of the challenge names into this zone (init/delegation-step.ts). */
  delegateTo?: string;
  /** From --token-file or --token-env, read by the CLI. */
  token?: Secret;
  /** --token-file as an absolute path: .env then refers to it (CLOUDFLARE_API_TOKEN_FILE) instead of holding a copy. */
  tokenFile?: string;
  /** --admin-user, --admin-password-file, --node-auth, --static-auth (the login for scripts). */
  adminUser?: string;
  adminPasswordFile?: string;
  nodeAuth?: boolean;
  staticAuth?: boolean;
  nodeRedDir?: string;
  restart?: string;
  notifyUrl?: string;
  email?: string;
}

/** The answers, validated. */
export interface Answers {
  domains: string[];
  token: Secret;
  /** False when the .env file already holds exactly this token (directly or through its file). */
  tokenChanged: boolean;
  /** Set when the token came from --token-file: .env refers to this file. */
  tokenFile?: string;
  nodeRedDir: string;
  /** auto, none, or a command line. */
  restart: string;
  notifyUrl?: string;
  email?: string;
}

/** What the questions may use: flags, the current .env values, the current token, the machine. */
export interface QuestionContext {
  flags: InitFlags;
  current: Record<string, string>;
  /** The token the .env file yields now (CLOUDFLARE_API_TOKEN or its _FILE), if any. */
  currentToken?: Secret;
  /** CLOUDFLARE_API_TOKEN from the environment, offered when the file has none. */
  envToken?: Secret;
  machine: Machine;
  prompter: Prompter;
  say: (line: string) => void;
  /**
   * Checks the token for these domains right after it is given, printing each item; false when it
   * cannot be used. Interactive, the token alone is then asked again; otherwise TokenRejectedError.
   */
  verifyToken?: (domains: string[], token: Secret) => Promise<boolean>;
}

/** The token given by flag or without a terminal failed the check: nothing was written (exit 5). */
export class TokenRejectedError extends DnsProviderError {}

type Parsed<T> = { value: T } | { problem: string };

interface Question<T> {
  label: string;
  flag: string;
  given?: string;
  fallback?: string;
  /** How the fallback is shown in brackets (default: itself); secrets are never shown. */
  shown?: string;
  secret?: boolean;
  parse: (raw: string) => Parsed<T>;
}

/** Asks until an answer parses (interactive), or takes the flag / default (not interactive). */
async function answer<T>(ctx: QuestionContext, q: Question<T>): Promise<T> {
  const settle = (raw: string, where: string): T => {
    const parsed = q.parse(raw);
    if ('problem' in parsed) throw new UsageError(`${where}: ${parsed.problem}`);
    return parsed.value;
  };
  if (q.given !== undefined) return settle(q.given, `--${q.flag}`);
  if (!ctx.flags.interactive) return settle(q.fallback ?? '', `--${q.flag} (required with --non-interactive)`);
  const shown = q.shown ?? q.fallback;
  for (;;) {
    const prompt = `${q.label}${shown ? ` [${shown}]` : ''}: `;
    const raw = await (q.secret ? ctx.prompter.askSecret(prompt) : ctx.prompter.ask(prompt));
    if (raw === null && q.fallback === undefined) throw new UsageError(`the input ended before "${q.label}" was answered (or pass --${q.flag})`);
    const parsed = q.parse(raw === null || raw === '' ? q.fallback ?? '' : raw);
    if ('value' in parsed) return parsed.value;
    ctx.say(`  ${parsed.problem}`);
    if (raw === null) throw new UsageError(`--${q.flag}: ${parsed.problem}`);
  }
}

/** The domain names: `example.com` means example.com and *.example.com; a comma list is taken as is. */
export function parseDomainAnswer(raw: string): Parsed<string[]> {
  const text = raw.trim();
  if (text === '') return { problem: 'give your domain, e.g. example.com' };
  const list = text.includes(',') || text.startsWith('*.') ? text : `${text},*.${text}`;
  const { names, problems } = parseDomains(list);
  return problems.length > 0 ? { problem: problems[0].replace(/^DOMAINS: /, '') } : { value: names };
}

function domainShown(current?: string): string | undefined {
  const { names, problems } = parseDomains(current ?? '');
  if (!current || problems.length > 0) return current || undefined;
  return names.length === 2 && names[1] === `*.${names[0]}` ? names[0] : names.join(',');
}

function parseRestart(machine: Machine): (raw: string) => Parsed<string> {
  return (raw) => {
    const text = raw.trim();
    if (text === '' || text === 'none') return { value: 'none' };
    if (text === 'auto') {
      return findNodeRedUnit(machine) ? { value: 'auto' } : { problem: 'auto needs the nodered systemd unit, which is not on this machine: choose none or give a command' };
    }
    try {
      splitArgv(text);
      return { value: text };
    } catch (err) {
      return { problem: `the command ${(err as Error).message}` };
    }
  };
}

function optional(check: (text: string) => string | undefined): (raw: string) => Parsed<string | undefined> {
  return (raw) => {
    const text = raw.trim();
    if (text === '' || text === '-') return { value: undefined };
    const problem = check(text);
    return problem ? { problem } : { value: text };
  };
}

/** Asks every question in order and returns the answers. */
export async function askQuestions(ctx: QuestionContext): Promise<Answers> {
  if (ctx.flags.interactive && ctx.flags.domain === undefined) {
    ctx.say('Your domain\'s DNS must be hosted at Cloudflare (nrcert proves you own it with a TXT record there).');
  }
  const domains = await answer(ctx, {
    label: 'Your domain (check: dig NS example.com +short shows names ending in .ns.cloudflare.com)', flag: 'domain', given: ctx.flags.domain,
    fallback: domainShown(ctx.current.DOMAINS), parse: parseDomainAnswer,
  });
  ctx.say(`  The certificate will cover ${domains.join(', ')}.`);
  const token = await askCheckedToken(ctx, domains);
  const nodeRedDir = await askNodeRedDir(ctx);
  const restart = await askRestart(ctx);
  const notifyUrl = await answer(ctx, {
    label: 'Notification URL for renewals and failures (ntfy, a Node-RED http-in node; optional, - for none)', flag: 'notify-url',
    given: ctx.flags.notifyUrl, fallback: ctx.current.NOTIFY_URL || undefined, shown: ctx.current.NOTIFY_URL ? 'keep current URL' : undefined,
    parse: optional((t) => (/^https?:\/\/\S+$/.test(t) ? undefined : 'not an http(s):// URL')),
  });
  const email = await answer(ctx, {
    label: 'E-mail for the ACME account (Let\'s Encrypt writes to it about problems with your certificate; optional, - for none)', flag: 'email', given: ctx.flags.email, fallback: ctx.current.ACME_EMAIL || undefined,
    parse: optional((t) => (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(t) ? undefined : 'not an e-mail address')),
  });
  const tokenFile = ctx.flags.token && ctx.flags.tokenFile ? ctx.flags.tokenFile : undefined;
  // A kept token stays where it is (a copy or a reference); --token-file makes it a reference to that file.
  const tokenChanged = ctx.currentToken?.reveal() !== token.reveal() || (tokenFile !== undefined && tokenFile !== ctx.current.CLOUDFLARE_API_TOKEN_FILE);
  return { domains, token, tokenChanged, tokenFile, nodeRedDir, restart, notifyUrl, email };
}

/** The token, checked at once; interactive, a failing one is asked again (the domain stays answered). */
async function askCheckedToken(ctx: QuestionContext, domains: string[]): Promise<Secret> {
  let flags = ctx.flags;
  for (;;) {
    const token = await askToken({ ...ctx, flags });
    if (!ctx.verifyToken || (await ctx.verifyToken(domains, token))) return token;
    if (!ctx.flags.interactive) throw new TokenRejectedError('the Cloudflare token cannot be used (see above): nothing was written');
    ctx.say('  That token cannot be used as it is (see above). Fix it or create another, then paste it again (Ctrl-C stops; nothing is written).');
    flags = { ...flags, token: undefined, tokenFile: undefined };
    ctx = { ...ctx, currentToken: undefined, envToken: undefined };
  }
}

/** The token, hidden; Enter keeps the current one (never shown, not even in part). */
async function askToken(ctx: QuestionContext): Promise<Secret> {
  const keep = ctx.currentToken ?? ctx.envToken;
  if (ctx.flags.interactive && !ctx.flags.token) {
    const zone = ctx.flags.delegateTo ? `for ${ctx.flags.delegateTo}, the zone the CNAME points into` : 'for your zone';
    ctx.say(`The API token: create it at ${TOKEN_PAGE} → Create Token → "Edit zone DNS" template, ${zone} (Zone:Read and DNS:Edit). What you type is hidden.`);
  }
  return answer(ctx, {
    label: 'Cloudflare API token', flag: 'token-file or --token-env', given: ctx.flags.token?.reveal(), secret: true,
    fallback: keep?.reveal(), shown: keep ? (ctx.currentToken ? 'keep current token ********' : 'use $CLOUDFLARE_API_TOKEN') : undefined,
    parse: (raw): Parsed<Secret> => (raw.trim() === '' ? { problem: `paste the API token (${TOKEN_PAGE})` }
      : /\s/.test(raw.trim()) ? { problem: 'the token contains white space: paste the token alone' } : { value: new Secret(raw.trim()) }),
  });
}

async function askNodeRedDir(ctx: QuestionContext): Promise<string> {
  const { machine } = ctx;
  const candidates = nodeRedDirCandidates(machine);
  if (ctx.flags.interactive && ctx.flags.nodeRedDir === undefined) {
    for (const c of candidates) ctx.say(`  Found a Node-RED directory: ${c.dir} (${c.why})`);
  }
  const dir = await answer(ctx, {
    label: 'Node-RED user directory (where settings.js is)', flag: 'node-red-dir', given: ctx.flags.nodeRedDir,
    fallback: ctx.current.NODE_RED_USER_DIR || candidates[0]?.dir || join(machine.home, '.node-red'),
    parse: (raw) => ({ value: expandPath(raw.trim(), machine.home, process.cwd()) }),
  });
  if (!machine.exists(join(dir, 'settings.js'))) ctx.say(`  ${join(dir, 'settings.js')} does not exist (yet): settings.js will not be edited.`);
  return dir;
}

async function askRestart(ctx: QuestionContext): Promise<string> {
  const unit = findNodeRedUnit(ctx.machine);
  if (ctx.flags.interactive && ctx.flags.restart === undefined) {
    ctx.say('How should Node-RED pick up a new certificate?');
    ctx.say(`  auto   restart the nodered systemd unit (${unit ? `found ${unit.path}` : 'not found on this machine'})`);
    ctx.say('  none   no restart: Node-RED re-reads the files every minute by itself (httpsRefreshInterval, set in settings.js below)');
    ctx.say('  or a command nrcert runs after each renewal, e.g. pm2 restart node-red');
  }
  return answer(ctx, {
    label: 'Restart', flag: 'restart', given: ctx.flags.restart,
    fallback: ctx.current.RESTART_COMMAND || defaultRestart(ctx.machine), parse: parseRestart(ctx.machine),
  });
}
