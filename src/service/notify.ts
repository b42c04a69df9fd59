/**
 * Notifications: tell the user when a certificate was renewed, a renewal failed, the certificate
 * is about to expire, or a rollback happened (Let's Encrypt no longer sends expiry e-mails).
 * Two channels the user sets, both optional, and a third always on when the editor folder is in
 * use (EDITOR_DIR/events.json, for Node-RED's sidebar and event node); all best effort: a
 * notification failure is logged, never thrown.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import type { Secret } from '../config/secret';
import type { Logger } from '../log';
import { runUserCommand } from '../util/command';
import type { EditorFolder } from '../editor/folder';

/** What happened. */
/** `client_expiring`: client certificates of nrcert's client CA (nrcert clients) expire within 30 days. */
export type NotifyEventType = 'renewed' | 'renewal_failed' | 'expiring' | 'rollback' | 'client_expiring';

/** One notification, as JSON on NOTIFY_COMMAND's stdin and in NOTIFY_URL's body. */
export interface NotifyEvent {
  type: NotifyEventType;
  names: string[];
  /** One sentence for people: what happened and, when something failed, what to do. */
  message: string;
  /** When it happened (ISO 8601). */
  at: string;
  host: string;
  notAfter?: string;
  error?: string;
  exitCode?: number;
  lineage?: string;
  nextAttemptAt?: string;
  /** client_expiring: the client certificates concerned, soonest first. */
  clients?: Array<{ name: string; serial: string; notAfter: string; daysLeft: number }>;
}

/** Where to send notifications (Config.notify) and how long each channel may take. */
export interface NotifyOptions {
  command?: string[];
  url?: Secret;
  /** The editor folder in use (editor/folder.ts editorFolder), if any: the event is appended to its events.json. */
  editor?: EditorFolder | null;
  /** Per channel; default NOTIFY_TIMEOUT_MS. */
  timeoutMs?: number;
  logger: Logger;
}

/** How long NOTIFY_COMMAND may run and NOTIFY_URL may take to answer, unless told otherwise. */
export const NOTIFY_TIMEOUT_MS = 30_000;

/** The fields of an event the caller knows; the rest (type, time, host) are filled in. */
export type NotifyEventFields = Omit<NotifyEvent, 'type' | 'at' | 'host'> & { host?: string };

/** Builds an event stamped with `now` and this machine's host name. */
export function buildNotifyEvent(type: NotifyEventType, fields: NotifyEventFields, now: Date = new Date()): NotifyEvent {
  return { type, ...fields, at: now.toISOString(), host: fields.host ?? hostname() };
}

const TITLES: Record<NotifyEventType, string> = {
  renewed: 'certificate renewed',
  renewal_failed: 'certificate renewal failed',
  expiring: 'certificate expires soon',
  rollback: 'certificate rolled back',
  client_expiring: 'client certificates expire soon',
};

/** ntfy tags: the first is shown as an emoji (https://docs.ntfy.sh/emojis/), the rest as text. */
const TAGS: Record<NotifyEventType, string> = {
  renewed: 'white_check_mark,nrcert',
  renewal_failed: 'rotating_light,nrcert',
  expiring: 'warning,nrcert',
  rollback: 'rewind,nrcert',
  client_expiring: 'key,nrcert',
};

/** A short title for the event, e.g. `nrcert on raspberrypi: certificate renewed`. */
export function notifyTitle(event: NotifyEvent): string {
  return `nrcert on ${event.host}: ${TITLES[event.type]}`;
}

/**
 * Sends `event` to NOTIFY_COMMAND, NOTIFY_URL and the editor folder (whichever are set), side by side. Never
 * throws: a channel that fails is logged as a warning naming its setting, and the caller's
 * renewal result stands as it is.
 */
export async function notify(event: NotifyEvent, opts: NotifyOptions): Promise<void> {
  const { command, url, logger } = opts;
  const timeoutMs = opts.timeoutMs ?? NOTIFY_TIMEOUT_MS;
  await Promise.all([
    command?.length ? guard('NOTIFY_COMMAND', logger, () => runNotifyCommand(command, event, timeoutMs, logger)) : undefined,
    url ? guard('NOTIFY_URL', logger, () => postNotifyUrl(url, event, timeoutMs, logger)) : undefined,
    opts.editor ? guard('EDITOR_DIR', logger, async () => appendEditorEvent(opts.editor!, event)) : undefined,
  ]);
}

/** Loaded on first use: the editor's files are not needed by a run that has no editor folder. */
function appendEditorEvent(folder: EditorFolder, event: NotifyEvent): void {
  (require('../editor/events') as typeof import('../editor/events')).appendEvent(folder, event);
}

/** Runs one channel; anything it throws becomes a warning that names the setting, not the URL. */
async function guard(setting: string, logger: Logger, job: () => Promise<void>): Promise<void> {
  try {
    await job();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException | undefined)?.code ?? (err as Error | undefined)?.name ?? 'error';
    logger.warn({ setting }, `${setting}: the notification could not be sent (${why}); nrcert carries on`);
  }
}

/**
 * NOTIFY_COMMAND: argv as given, no shell, the event as JSON on stdin and in NRCERT_EVENT, with
 * NRCERT_EVENT_TYPE and NRCERT_MESSAGE for simple scripts. Secrets nrcert reads from the
 * environment are removed from the command's environment: a notification script needs none.
 */
async function runNotifyCommand(argv: string[], event: NotifyEvent, timeoutMs: number, logger: Logger): Promise<void> {
  const json = JSON.stringify(event);
  const env = { NRCERT_EVENT: json, NRCERT_EVENT_TYPE: event.type, NRCERT_MESSAGE: event.message };
  const result = await runUserCommand(argv, { env, input: json, timeoutMs });
  const command = argv[0];
  const fields = { setting: 'NOTIFY_COMMAND', command, event: event.type };
  if (result.ok) {
    logger.info(fields, `NOTIFY_COMMAND (${command}) sent the ${event.type} notification`);
  } else if (result.timedOut) {
    logger.warn(fields, `NOTIFY_COMMAND (${command}) ${result.detail} and was stopped; the ${event.type} notification may not have been delivered`);
  } else {
    logger.warn(fields, `NOTIFY_COMMAND (${command}) ${result.detail}; the ${event.type} notification was not delivered`);
  }
}

/**
 * The JSON body for NOTIFY_URL, readable by each receiver it is meant for:
 * - Telegram's sendMessage (`…/bot<TOKEN>/sendMessage?chat_id=<ID>`) reads `text` from a JSON
 *   body and `chat_id` from the query string, and ignores the other fields
 *   (https://core.telegram.org/bots/api#making-requests);
 * - a Node-RED http-in node gets the whole object as msg.payload;
 * - ntfy (`https://ntfy.sh/<topic>`) publishes the body as the message, unless told by the
 *   headers below to render `text` from it (see ntfyHeaders).
 */
export function notifyBody(event: NotifyEvent): Record<string, unknown> {
  return { text: event.message, title: notifyTitle(event), ...event };
}

/**
 * Headers ntfy understands and other receivers ignore (https://docs.ntfy.sh/publish/): Title,
 * Tags (emoji), Priority, and message templating (ntfy 2.10+): `X-Template: yes` with
 * `X-Message: {{.text}}` makes the notification show the sentence instead of the raw JSON (an
 * older ntfy shows the JSON, with the right title). Header values must be ASCII.
 */
export function ntfyHeaders(event: NotifyEvent): Record<string, string> {
  const urgent = event.type === 'renewal_failed' || event.type === 'rollback' || event.type === 'expiring';
  return {
    Title: asciiHeader(notifyTitle(event)),
    Tags: TAGS[event.type],
    Priority: urgent ? 'high' : 'default',
    'X-Template': 'yes',
    'X-Message': '{{.text}}',
  };
}

function asciiHeader(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '?');
}

/** `scheme://host[:port]` of a URL: all a log line may say about NOTIFY_URL (path and query carry tokens). */
export function describeTarget(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** POSTs the event as JSON; any answer but 2xx, a network error or the timeout is logged. */
async function postNotifyUrl(secret: Secret, event: NotifyEvent, timeoutMs: number, logger: Logger): Promise<void> {
  let url: URL;
  try {
    url = new URL(secret.reveal());
  } catch {
    logger.warn({ setting: 'NOTIFY_URL' }, 'NOTIFY_URL is not a valid URL; the notification was not sent');
    return;
  }
  const target = describeTarget(url);
  const fields = { setting: 'NOTIFY_URL', target, event: event.type };
  const body = Buffer.from(JSON.stringify(notifyBody(event)), 'utf8');
  const headers: OutgoingHttpHeaders = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': body.length,
    'User-Agent': 'nrcert',
    ...ntfyHeaders(event),
  };
  const outcome = await post(url, body, headers, timeoutMs);
  if (outcome.kind === 'answer' && outcome.status >= 200 && outcome.status < 300) {
    logger.info({ ...fields, status: outcome.status }, `NOTIFY_URL (${target}) took the ${event.type} notification`);
    return;
  }
  const why =
    outcome.kind === 'timeout' ? `did not answer within ${timeoutMs / 1000} s`
    : outcome.kind === 'error' ? `could not be reached (${outcome.code})`
    : `answered HTTP ${outcome.status}${outcome.detail ? ` (${scrub(outcome.detail, url)})` : ''}`;
  logger.warn({ ...fields, ...(outcome.kind === 'answer' ? { status: outcome.status } : {}) }, `NOTIFY_URL (${target}) ${why}; the ${event.type} notification was not delivered`);
}

type PostOutcome = { kind: 'answer'; status: number; detail: string } | { kind: 'timeout' } | { kind: 'error'; code: string };

/** One POST with an overall deadline; never rejects. No keep-alive: nothing stays open afterwards. */
function post(url: URL, body: Buffer, headers: OutgoingHttpHeaders, timeoutMs: number): Promise<PostOutcome> {
  return new Promise((resolve) => {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const finish = (outcome: PostOutcome) => {
      clearTimeout(timer);
      resolve(timedOut ? { kind: 'timeout' } : outcome);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'POST', headers, agent: false, signal: controller.signal }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < 4096) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => finish({ kind: 'answer', status: res.statusCode ?? 0, detail: summarise(Buffer.concat(chunks).toString('utf8')) }));
      res.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'error', code: err.code ?? err.name }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'error', code: err.code ?? err.name }));
    req.end(body);
  });
}

/** The useful part of an error answer: Telegram's `description`, ntfy's `error`, else the text. */
function summarise(text: string): string {
  let detail = text;
  try {
    const json = JSON.parse(text) as { description?: unknown; error?: unknown; message?: unknown };
    const picked = [json.description, json.error, json.message].find((v) => typeof v === 'string');
    if (typeof picked === 'string') detail = picked;
  } catch {
    // not JSON: keep the text
  }
  detail = detail.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return detail.length > 200 ? `${detail.slice(0, 200)}…` : detail;
}

/** Removes every part of the URL that may be secret (user, password, path, query) from `text`. */
function scrub(text: string, url: URL): string {
  const secrets = [url.username, url.password, url.pathname + url.search, url.pathname, url.search.slice(1), ...url.pathname.split('/'), ...[...url.searchParams].flat()]
    .flatMap((s) => [s, safeDecode(s)])
    .filter((s) => s.length >= 4)
    .sort((a, b) => b.length - a.length);
  return secrets.reduce((out, s) => out.split(s).join('[redacted]'), text);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
