import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '../../src/config/secret';
import { createLogger, type LoggerOptions } from '../../src/log';
import { isJournalStream, withPriority } from '../../src/util/journal';

const TOKEN = 'SENTINEL-token-5f4dcc3b5aa765d61d8327deb882cf99';
const PEM = '-----BEGIN PRIVATE KEY-----\nSENTINELKEYMATERIAL\n-----END PRIVATE KEY-----';

/** Everything a user could put through a log call that carries a secret. */
function logSecrets(logger: ReturnType<typeof createLogger>): void {
  logger.info({ token: TOKEN, apiToken: TOKEN, privkey: PEM, domain: 'example.com' }, 'top level');
  logger.warn({ options: { apiToken: TOKEN, privateKey: PEM, hmacKey: TOKEN }, headers: { authorization: `Bearer ${TOKEN}` } }, 'one level down');
  logger.error({ config: { cloudflare: { apiToken: new Secret(TOKEN) } } }, 'a Secret anywhere');
}

function expectRedacted(output: string): void {
  expect(output).not.toContain('SENTINEL');
  expect(output).toContain('[redacted]');
  expect(output).toContain('example.com');
}

describe('createLogger', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nrcert-log-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes JSON lines to a non-TTY stream with secrets redacted', () => {
    const path = join(dir, 'log.jsonl');
    const fd = openSync(path, 'w');
    try {
      // Off a TTY the logger writes to the stream's file descriptor, so give it a file's.
      const logger = createLogger('info', { out: { isTTY: false, fd } as unknown as NodeJS.WriteStream, journal: false });
      logSecrets(logger);
      logger.debug({ token: TOKEN }, 'below the level');
    } finally {
      closeSync(fd);
    }
    const output = readFileSync(path, 'utf8');
    expectRedacted(output);
    const lines = output.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msg)).toEqual(['top level', 'one level down', 'a Secret anywhere']);
    expect(lines[0]).toMatchObject({ level: 30, token: '[redacted]', apiToken: '[redacted]', privkey: '[redacted]', domain: 'example.com' });
    expect(lines[1]).toMatchObject({ options: { apiToken: '[redacted]', privateKey: '[redacted]', hmacKey: '[redacted]' }, headers: { authorization: '[redacted]' } });
    expect(lines[2].config.cloudflare.apiToken).toBe('[redacted]');
  });

  it('writes one short line per event to a TTY, with secrets redacted', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const logger = createLogger('info', { out: tty, journal: false });
    logSecrets(logger);
    logger.debug('below the level');
    expect(written).toHaveLength(3);
    expectRedacted(written.join(''));
    expect(written[0]).toMatch(/^\d\d:\d\d:\d\d INFO  top level {2}token=\[redacted\] apiToken=\[redacted\] privkey=\[redacted\] domain=example\.com\n$/);
    expect(written[1]).toMatch(/^\d\d:\d\d:\d\d WARN  one level down {2}options=\{"apiToken":"\[redacted\]"/);
    expect(written[2]).toMatch(/ ERROR a Secret anywhere {2}config=/);
  });

  /** What a logger writes to a file descriptor (as stderr is under systemd) with these options. */
  function written(options: LoggerOptions, log: (logger: ReturnType<typeof createLogger>) => void, level = 'info'): string {
    const path = join(dir, `out-${Math.random()}.log`);
    const fd = openSync(path, 'w');
    try {
      log(createLogger(level, { out: { isTTY: false, fd } as unknown as NodeJS.WriteStream, ...options }));
    } finally {
      closeSync(fd);
    }
    return readFileSync(path, 'utf8');
  }

  it('under the journal writes human lines with sd-daemon priority prefixes and no clock', () => {
    const output = written({ journal: true }, (logger) => {
      logSecrets(logger);
      logger.debug({ token: TOKEN }, 'a detail');
      logger.trace('finer');
      logger.fatal('gave up');
    }, 'trace');
    expectRedacted(output);
    const lines = output.trimEnd().split('\n');
    expect(lines[0]).toBe('<6>INFO  top level  token=[redacted] apiToken=[redacted] privkey=[redacted] domain=example.com');
    expect(lines[1]).toMatch(/^<4>WARN  one level down {2}options=/);
    expect(lines[2]).toMatch(/^<3>ERROR a Secret anywhere {2}config=/);
    expect(lines[3]).toBe('<7>DEBUG a detail  token=[redacted]');
    expect(lines[4]).toBe('<7>TRACE finer');
    expect(lines[5]).toBe('<3>FATAL gave up');
    expect(lines).toHaveLength(6);
  });

  it('under the journal gives every line of a multi-line message its priority (journald splits at newlines)', () => {
    const output = written({ journal: true }, (logger) => logger.error('renewal failed:\n  first problem\n  second problem'));
    expect(output).toBe('<3>ERROR renewal failed:\n<3>  first problem\n<3>  second problem\n');
  });

  it('LOG_FORMAT=json keeps JSON under the journal, each line carrying its priority for journald', () => {
    const output = written({ journal: true, format: 'json' }, (logger) => {
      logSecrets(logger);
      logger.debug('a detail');
    }, 'debug');
    expectRedacted(output);
    const lines = output.trimEnd().split('\n');
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<6>', '<4>', '<3>', '<7>']);
    const records = lines.map((l) => JSON.parse(l.slice(3)));
    expect(records.map((r) => r.msg)).toEqual(['top level', 'one level down', 'a Secret anywhere', 'a detail']);
    expect(records[0]).toMatchObject({ level: 30, token: '[redacted]' });
  });

  it('LOG_FORMAT=human writes short lines off a terminal; LOG_FORMAT=json writes JSON on one', () => {
    const human = written({ journal: false, format: 'human' }, logSecrets);
    expectRedacted(human);
    expect(human.split('\n')[0]).toMatch(/^\d\d:\d\d:\d\d INFO  top level {2}token=\[redacted\]/);
    const lines: string[] = [];
    const tty = { isTTY: true, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    logSecrets(createLogger('info', { out: tty, journal: false, format: 'json' }));
    expectRedacted(lines.join(''));
    expect(JSON.parse(lines[0])).toMatchObject({ level: 30, msg: 'top level', token: '[redacted]' });
  });
});

describe('isJournalStream', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nrcert-journal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is true only when JOURNAL_STREAM names the device and inode of the descriptor', () => {
    const fd = openSync(join(dir, 'stream'), 'w');
    try {
      const st = fstatSync(fd, { bigint: true });
      expect(isJournalStream(fd, `${st.dev}:${st.ino}`)).toBe(true);
      // Inherited by a program whose stderr was redirected elsewhere: not the journal.
      expect(isJournalStream(fd, `${st.dev}:${st.ino + 1n}`)).toBe(false);
      expect(isJournalStream(fd, undefined)).toBe(false);
      expect(isJournalStream(fd, '')).toBe(false);
      expect(isJournalStream(undefined, `${st.dev}:${st.ino}`)).toBe(false);
    } finally {
      closeSync(fd);
    }
  });

  it('withPriority prefixes every line', () => {
    expect(withPriority(3, 'nrcert: 2 problems:\n  A\n  B\n')).toBe('<3>nrcert: 2 problems:\n<3>  A\n<3>  B\n');
    expect(withPriority(6, 'one')).toBe('<6>one');
  });
});
