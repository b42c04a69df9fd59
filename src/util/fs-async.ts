/**
 * Promise versions of the node:fs calls that the modules the resident service loads (store/lock,
 * store/atomic) need, made with util.promisify from node:fs's callback API instead of taken from
 * node:fs/promises. On Node 22 and 24 requiring node:fs/promises also loads readline, the REPL's
 * history and fs.Dir (≈ 0.6-1 MB resident, bench/cli.bench.ts), which an idle `nrcert run` never
 * uses. Descriptors are plain numbers here: each opener closes its own in `finally`.
 */
import {
  close, fchmod, fchown, fsync, mkdir as mkdirCb, open as openCb, readFile as readFileCb, rename as renameCb, rm as rmCb,
  stat as statCb, symlink as symlinkCb, writeFile as writeFileCb,
} from 'node:fs';
import { promisify } from 'node:util';

/** open(2): a descriptor, or the error (EEXIST with 'wx'). */
export const openFd = promisify(openCb) as (path: string, flags: string | number, mode?: number) => Promise<number>;
export const closeFd = promisify(close);
export const fsyncFd = promisify(fsync);
export const fchmodFd = promisify(fchmod);
export const fchownFd = promisify(fchown);
/** The whole of `data` written at the descriptor's position. */
export const writeFd = promisify(writeFileCb) as (fd: number, data: string | Uint8Array) => Promise<void>;
export const rename = promisify(renameCb);
export const rm = promisify(rmCb);
export const symlink = promisify(symlinkCb) as (target: string, path: string) => Promise<void>;
export const stat = promisify(statCb) as (path: string) => Promise<import('node:fs').Stats>;
export const mkdir = promisify(mkdirCb) as (path: string, options: { recursive?: boolean; mode?: number }) => Promise<string | undefined>;
export const readFile = promisify(readFileCb) as (path: string, encoding: 'utf8') => Promise<string>;
