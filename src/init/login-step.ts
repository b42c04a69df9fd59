/**
 * The login step of `nrcert init`: when settings.js has no adminAuth, offers a login for the
 * editor (and the same for the dashboard and http-in nodes, httpNodeAuth, and for httpStatic
 * files, httpStaticAuth), asked on the terminal (the password hidden, typed twice) or given by
 * --admin-user/--admin-password-file. It is written by nodered/login.ts (bcryptjs, the same
 * backed-up, checked edit as the https block). The password lives only in a Secret in memory.
 */
import { readFileSync } from 'node:fs';
import { Secret } from '../config/secret';
import { UsageError } from '../errors';
import { applyLogin, checkPassword, checkUserName, passwordFromFile, type LoginScope } from '../nodered/login';
import type { SettingsProbe } from '../nodered/settings-probe';
import type { Prompter } from './prompt';
import type { InitFlags } from './questions';
import { nrcertCommand } from '../util/hint';

/** A login to write into settings.js. */
export interface LoginPlan {
  user: string;
  password: Secret;
  scope: LoginScope;
}

/** What the login step may use. */
export interface LoginContext {
  flags: InitFlags;
  prompter: Prompter;
  say: (line: string) => void;
}

/** Asks for (or reads from flags) the login to set; null when none is wanted or one is already set. */
export async function askLogin(ctx: LoginContext, probe: SettingsProbe | undefined): Promise<LoginPlan | null> {
  const { flags } = ctx;
  if (!probe?.found || probe.error) return null;
  if (probe.adminAuth) {
    ctx.say('  [ok] The editor already asks for a login (adminAuth in settings.js): left as it is.');
    if (!probe.httpNodeAuth) ctx.say(`  The dashboard and http-in nodes have no login (httpNodeAuth); ${nrcertCommand('settings')} --apply --admin-user NAME --admin-password-file F --node-auth sets one.`);
    return null;
  }
  const staticWanted = (wanted: boolean) => wanted && probe.httpStatic === true && !probe.httpStaticAuth;
  if (flags.adminUser !== undefined || flags.adminPasswordFile !== undefined) {
    if (flags.adminUser === undefined || flags.adminPasswordFile === undefined) {
      throw new UsageError('a login needs both --admin-user NAME and --admin-password-file FILE (the password on its first line)');
    }
    const password = new Secret(passwordFromFile(readPasswordFile(flags.adminPasswordFile), flags.adminPasswordFile));
    checkPassword(password);
    const scope = { nodes: Boolean(flags.nodeAuth) && !probe.httpNodeAuth, static: staticWanted(Boolean(flags.staticAuth)) };
    return { user: checkUserName(flags.adminUser), password, scope };
  }
  if (!flags.interactive) {
    ctx.say('warning: the Node-RED editor has no login (adminAuth): anyone who reaches it can run code on this machine. ' +
      'Pass --admin-user NAME --admin-password-file FILE [--node-auth] to set one.');
    return null;
  }
  ctx.say('The Node-RED editor has no login (adminAuth): anyone who can reach it can run any code on this machine.');
  if (!(await yesNo(ctx, 'Set a login for the Node-RED editor now?', true))) return null;
  const user = await askUser(ctx);
  const password = await askPassword(ctx);
  const nodes = !probe.httpNodeAuth && (await yesNo(ctx, 'Ask the same login on the dashboard and http-in nodes (httpNodeAuth)?', true));
  const stat = staticWanted(true) && (await yesNo(ctx, 'And on the httpStatic files (httpStaticAuth)?', true));
  return { user, password, scope: { nodes, static: stat } };
}

/** Writes the login into settings.js; resolves true when settings.js changed. */
export async function applyLoginPlan(plan: LoginPlan, settingsPath: string, certDir: string, say: (line: string) => void): Promise<boolean> {
  const result = await applyLogin({ settingsPath, certDir, ...plan });
  const parts = ['the editor', ...(plan.scope.nodes ? ['the dashboard and http-in nodes'] : []), ...(plan.scope.static ? ['httpStatic files'] : [])];
  say(result.changed
    ? `Wrote the login into ${result.path} (backup: ${result.backupPath}): ${parts.join(', ')} ask for user ${plan.user} (bcrypt hash; the password is stored nowhere).`
    : `${result.path} already has this login.`);
  return result.changed;
}

function readPasswordFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--admin-password-file: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function yesNo(ctx: LoginContext, question: string, byDefault: boolean): Promise<boolean> {
  const answer = (await ctx.prompter.ask(`${question} ${byDefault ? '[Y/n]' : '[y/N]'}: `)) ?? '';
  return answer === '' ? byDefault : /^y(es)?$/i.test(answer);
}

async function askUser(ctx: LoginContext): Promise<string> {
  for (;;) {
    const raw = await ctx.prompter.ask('User name [admin]: ');
    if (raw === null) throw new UsageError('the input ended before the user name was answered (or pass --admin-user)');
    try {
      return checkUserName(raw.trim() || 'admin');
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      ctx.say(`  ${err.message.replace(/^--admin-user: /, '')}`);
    }
  }
}

async function askPassword(ctx: LoginContext): Promise<Secret> {
  for (;;) {
    const first = await ctx.prompter.askSecret('Password (hidden, at least 8 characters): ');
    if (first === null) throw new UsageError('the input ended before the password was typed (or pass --admin-password-file)');
    const password = new Secret(first);
    try {
      checkPassword(password);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      ctx.say(`  ${err.message}; type another.`);
      continue;
    }
    const again = await ctx.prompter.askSecret('Password again: ');
    if (again === first) return password;
    ctx.say('  The two passwords do not match; type them again.');
  }
}
