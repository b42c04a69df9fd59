/**
 * How hints name nrcert ("Run: nrcert renew"): as the person can type it here. The CLI entry point
 * works that out once (cli/invocation.ts) and sets it; everything else only formats with it, so
 * the core stays free of process state and tests in-process see plain `nrcert`.
 */
let invocation = 'nrcert';

/** Sets how this nrcert is run from a shell (`nrcert`, `npx nrcert`, `node -- /path/index.js`). */
export function setInvocation(command: string): void {
  invocation = command;
}

/** `nrcert ARGS` as a command that works as printed, e.g. nrcertCommand('renew --force'). */
export function nrcertCommand(args: string): string {
  return args ? `${invocation} ${args}` : invocation;
}
