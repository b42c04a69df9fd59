/**
 * What a DNS provider's settings reader gets from loadConfig: the merged environment, the list to
 * push problems onto (all are reported at once), what the command needs, and path expansion.
 * Shared helpers for the kinds of setting every provider has: a secret given inline or in a file.
 */
import { readFileSync } from 'node:fs';
import { Secret } from './secret';

/** `renew` needs credentials; `status` does not (see ConfigPurpose in config.ts). */
export type SettingsPurpose = 'renew' | 'status';

/** The context a provider's `readSettings` works in. */
export interface SettingsContext {
  env: Record<string, string | undefined>;
  problems: string[];
  purpose: SettingsPurpose;
  /** True when this host may go without credentials (a fleet member never orders): files are still read. */
  credentialsOptional?: boolean;
  /** A path from a setting, absolute (`~` is home, relative is against the working directory). */
  expand: (path: string) => string;
}

/**
 * A secret setting given either inline (`NAME`) or in a file (`NAME_FILE`, trimmed): both set is a
 * problem, and so is neither when `purpose` is renew and `missing` says what to do. The value is
 * wrapped in a Secret at once; white space inside it is a problem (a paste gone wrong).
 */
export function readSecretSetting(ctx: SettingsContext, name: string, missing?: string): Secret | undefined {
  const { env, problems, purpose } = ctx;
  const fileName = `${name}_FILE`;
  let value = env[name]?.trim() || undefined;
  const file = env[fileName];
  if (value && file) {
    problems.push(`${name} and ${fileName} are both set: keep one`);
  } else if (file && purpose === 'renew') {
    try {
      value = readFileSync(ctx.expand(file), 'utf8').trim() || undefined;
      if (!value) problems.push(`${fileName}: ${file} is empty`);
    } catch (err) {
      problems.push(`${fileName}: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
    }
  } else if (!value && purpose === 'renew' && missing && !ctx.credentialsOptional) {
    problems.push(`${name} is not set: ${missing}`);
  }
  if (value && /\s/.test(value)) problems.push(`${name} contains white space: paste the value alone`);
  return value ? new Secret(value) : undefined;
}
