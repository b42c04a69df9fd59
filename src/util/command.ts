/** Secrets nrcert may find in its environment: no child it starts (hook, notification, settings.js probe) inherits them. */
export const SECRET_ENV = [
  'CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_TOKEN_FILE', 'CLOUDFLARE_API_KEY', 'CLOUDFLARE_EMAIL', 'ACME_EAB_HMAC_KEY', 'NOTIFY_URL',
] as const;

/** `env` with every secret set to undefined (which removes an inherited variable from a child). */
export function withoutSecrets<T extends Record<string, string | undefined>>(env: T): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const name of SECRET_ENV) out[name] = undefined;
  return out;
}

/** How a user's command ended: fine, timed out, or failed (with its exit code or why it could not start, and its last output). */
export type CommandResult = { ok: true } | { ok: false; timedOut: boolean; detail: string };

/**
 * Runs a command from a setting (RESTART_COMMAND, NOTIFY_COMMAND): argv as given, no shell, with
 * a timeout, our environment plus `env` minus the secrets. execa is ESM-only and loaded here, on
 * first use, so no other command pays for it.
 */
export async function runUserCommand(argv: string[], opts: { env: Record<string, string>; input?: string; timeoutMs: number }): Promise<CommandResult> {
  const { execa } = await import('execa');
  const result = await execa(argv[0], argv.slice(1), {
    env: withoutSecrets(opts.env),
    timeout: opts.timeoutMs,
    reject: false,
    all: true,
    forceKillAfterDelay: 5000,
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
  });
  if (result.timedOut) return { ok: false, timedOut: true, detail: `did not finish within ${opts.timeoutMs / 1000} s` };
  if (!result.failed) return { ok: true };
  const why = result.exitCode !== undefined ? `exited with code ${result.exitCode}` : `could not be run (${result.code ?? result.shortMessage})`;
  const tail = String(result.all ?? '').trim().split('\n').slice(-3).join(' | ');
  return { ok: false, timedOut: false, detail: `${why}${tail ? `: ${tail}` : ''}` };
}
