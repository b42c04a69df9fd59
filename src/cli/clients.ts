/**
 * `nrcert clients init|add|list|revoke`: the private CA for client certificates (Let's Encrypt
 * issues none any more), so only your own phones and browsers reach Node-RED. The X.509 and
 * PKCS#12 libraries are loaded here, never by other commands.
 */
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { configSources, type ParsedArgs } from './args';
import { loadConfig } from '../config/config';
import { Secret } from '../config/secret';
import { UsageError } from '../errors';
import { checkClientName, ClientCaStore, passwordFromFileText, revokedEntries, type ClientRecord } from '../clients/store';
import type { P12Flavour } from '../clients/pkcs12';
import { clientRows } from '../editor/publish';
import { createLogger } from '../log';
import { editorFolderFor, publishForEditor } from './editor-publish';

const DEFAULT_DAYS = 825;
const MAX_DAYS = 3650;

/** Dispatches `nrcert clients SUBCOMMAND`. */
export async function clientsCommand(args: ParsedArgs): Promise<number> {
  const [sub, name, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`nrcert clients ${sub}: unexpected "${extra[0]}"`);
  const config = loadConfig(configSources(args), 'status');
  const store = new ClientCaStore(config.stateDir);
  const changed = async (code: number) => {
    // The editor's sidebar lists the client certificates too (EDITOR_DIR/clients.json).
    const logger = createLogger('warn', { format: config.logFormat });
    await publishForEditor(editorFolderFor(config, logger), config, logger);
    return code;
  };
  switch (sub) {
    case 'init':
      return changed(await initCa(store, config.domains[0] ?? 'Node-RED'));
    case 'add':
      return changed(await addClient(store, checkClientName(name), args));
    case 'list':
      return listClients(store, Boolean(args.flags.json));
    case 'revoke':
      return changed(await revokeClient(store, checkClientName(name)));
    default:
      throw new UsageError('usage: nrcert clients init | add NAME [--days N] [--out DIR] [--p12 legacy|modern] [--password-file F] | list [--json] | revoke NAME');
  }
}

async function initCa(store: ClientCaStore, label: string): Promise<number> {
  if (store.exists()) {
    process.stdout.write(`A client CA already exists in ${store.dir}: it was left as it is (nrcert never overwrites it).\n`);
    return 0;
  }
  const ca = require('../clients/ca') as typeof import('../clients/ca');
  const now = new Date();
  const material = await ca.createCa(label.replace(/^\*\./, ''), now);
  const crl = await ca.signCrl(material, [], 1, now);
  if (!store.create(material, crl)) {
    process.stdout.write(`A client CA already exists in ${store.dir}: it was left as it is (nrcert never overwrites it).\n`);
    return 0;
  }
  process.stdout.write(
    `Created the client CA in ${store.dir} (key ca.key 0600, certificate ca.pem, CRL crl.pem; valid ${ca.CA_DAYS / 365} years).\n` +
      'Next: nrcert clients add phone, then nrcert settings --apply --client-certs require\n',
  );
  return 0;
}

async function addClient(store: ClientCaStore, name: string, args: ParsedArgs): Promise<number> {
  const days = parseDays(args.options.days);
  const flavour = parseFlavour(args.options.p12);
  const outDir = resolve(args.options.out ?? process.cwd());
  const given = args.options['password-file'] !== undefined;
  const password = given ? await passwordFrom(args.options['password-file']!) : newPassword();
  store.checkAddable(name, outDir);
  const material = store.ca();
  const ca = require('../clients/ca') as typeof import('../clients/ca');
  const { buildP12 } = require('../clients/pkcs12') as typeof import('../clients/pkcs12');
  const issued = await ca.issueClient(material, name, days, new Date());
  const p12 = buildP12({ keyPem: issued.keyPem, certPem: issued.certPem, chainPems: [material.certPem], friendlyName: name, password, flavour });
  const record: ClientRecord = {
    name, serial: issued.serial, notBefore: issued.notBefore.toISOString(), notAfter: issued.notAfter.toISOString(), revokedAt: null, p12: flavour,
  };
  const result = store.add(record, p12, issued.certPem, outDir);
  const kind = flavour === 'legacy' ? 'legacy PKCS#12 (3DES, SHA-1 MAC: imports on iOS, Android, macOS and Windows)' : 'modern PKCS#12 (AES-256, PBKDF2)';
  process.stdout.write(
    `Issued "${name}" (serial ${issued.serial}, valid until ${record.notAfter.slice(0, 10)}).\n` +
      `Wrote ${result.p12Path} (${kind}) and ${result.pemPath} (the certificate).\n`,
  );
  if (!given) {
    process.stdout.write(`Password for ${name}.p12 (shown this once, stored nowhere): ${password.reveal()}\n`);
  }
  return 0;
}

async function listClients(store: ClientCaStore, json: boolean): Promise<number> {
  const rows = clientRows(store);
  if (json) {
    process.stdout.write(`${JSON.stringify({ clients: rows }, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write('No client certificates yet: nrcert clients add NAME\n');
    return 0;
  }
  const lines = rows.map((r) => [r.name, r.serial, r.notBefore.slice(0, 10), r.notAfter.slice(0, 10), r.revoked ? `revoked ${r.revokedAt!.slice(0, 10)}` : 'valid'].join('  '));
  process.stdout.write(`name  serial  notBefore  notAfter  state\n${lines.join('\n')}\n`);
  return 0;
}

async function revokeClient(store: ClientCaStore, name: string): Promise<number> {
  store.ca();
  const ca = require('../clients/ca') as typeof import('../clients/ca');
  const revoked = await store.revoke(name, new Date(), (registry) => ca.signCrl(store.ca(), revokedEntries(registry), registry.crlNumber, new Date()));
  if (!revoked) {
    process.stdout.write(`"${name}" is already revoked; the CRL was signed again.\n`);
    return 0;
  }
  process.stdout.write(
    `Revoked "${name}" (serial ${revoked.serial}); the new CRL is in ${store.dir}/crl.pem.\n` +
      'Node-RED refuses it from its next https refresh on (httpsRefreshInterval; settings.js from nrcert settings --apply --client-certs), without a restart.\n',
  );
  return 0;
}

function parseDays(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_DAYS;
  const days = Number(raw);
  if (!/^\d+$/.test(raw) || days < 1 || days > MAX_DAYS) throw new UsageError(`--days: "${raw}" is not a whole number of days from 1 to ${MAX_DAYS}`);
  return days;
}

function parseFlavour(raw: string | undefined): P12Flavour {
  if (raw === undefined || raw === 'legacy') return 'legacy';
  if (raw === 'modern') return 'modern';
  throw new UsageError(`--p12: "${raw}" is not legacy or modern`);
}

async function passwordFrom(file: string): Promise<Secret> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--password-file: cannot read ${file} (${err.code ?? 'error'})`);
  });
  return new Secret(passwordFromFileText(text, file));
}

/** 20 characters from 32 unambiguous ones (100 bits), in groups of five for typing on a phone. */
function newPassword(): Secret {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const chars = Array.from({ length: 20 }, () => alphabet[randomInt(alphabet.length)]);
  return new Secret(chars.join('').replace(/(.{5})(?=.)/g, '$1-'));
}
