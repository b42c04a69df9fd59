import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from '../../src/config/secret';
import { createLogger } from '../../src/log';

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
      const logger = createLogger('info', { isTTY: false, fd } as unknown as NodeJS.WriteStream);
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
    const logger = createLogger('info', tty);
    logSecrets(logger);
    logger.debug('below the level');
    expect(written).toHaveLength(3);
    expectRedacted(written.join(''));
    expect(written[0]).toMatch(/^\d\d:\d\d:\d\d INFO  top level {2}token=\[redacted\] apiToken=\[redacted\] privkey=\[redacted\] domain=example\.com\n$/);
    expect(written[1]).toMatch(/^\d\d:\d\d:\d\d WARN  one level down {2}options=\{"apiToken":"\[redacted\]"/);
    expect(written[2]).toMatch(/ ERROR a Secret anywhere {2}config=/);
  });
});
