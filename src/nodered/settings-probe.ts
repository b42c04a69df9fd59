/**
 * What Node-RED would see in settings.js, found by loading it in a child `node` (as Node-RED
 * does), calling `https` when it is a function, building a TLS context from what it gives, and
 * noting which PEM files it read. `nrcert doctor` judges settings.js from it, and
 * `nrcert settings --apply` checks the edited file with it. The child reports a summary only:
 * fingerprints and a hash of the public key, never key material; password hashes and
 * credentialSecret only as what kind of value they are (bcrypt, the sample hash, …).
 */
import { withoutSecrets } from '../util/command';
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * The bcrypt hash of "password" in the commented-out adminAuth, httpNodeAuth and
 * httpStaticAuth examples of Node-RED's default settings.js (node_modules/node-red/settings.js)
 * and in its security docs: copied by many, and guessed by every scanner.
 */
export const SAMPLE_PASSWORD_HASH = '$2a$08$zZWtXTja0fB1pzD4sHCMyOCMYz2Z6dNbM6tl8sJogENOMcxWV9DN.';

/** The credentialSecret example in Node-RED's default settings.js. */
export const SAMPLE_CREDENTIAL_SECRET = 'a-secret-key';

/** What kind of password value a setting holds. */
export type HashKind = 'bcrypt' | 'sample' | 'md5' | 'other' | 'none' | 'function';

/** adminAuth as far as the audit needs it. */
export interface AdminAuthSummary {
  type: string;
  /** Each user's name, password kind and permissions; 'function' when users is a function. */
  users: Array<{ username: string; password: HashKind; permissions: string }> | 'function';
  /** adminAuth.default.permissions (JSON), 'function', or null when there is no default user. */
  defaultPermissions: string | null;
}

/** httpNodeAuth / httpStaticAuth: user + bcrypt pass, or custom middleware. */
export interface BasicAuthSummary {
  kind: 'basic' | 'middleware';
  user?: boolean;
  pass?: HashKind;
}

/** What the child found in settings.js. */
export interface SettingsProbe {
  path: string;
  /** False when there is no such file. */
  found: boolean;
  /** Loading failed (syntax error, a require that throws, …). */
  error?: string;
  /** typeof settings.https */
  https?: string;
  /** Calling settings.https() failed, or what it returned is unusable. */
  httpsError?: string;
  /** SHA-256 fingerprint of the first certificate https gives Node-RED. */
  certFingerprint256?: string;
  /** SHA-256 of the public key of the key https gives Node-RED. */
  keySpki?: string;
  /**
   * Why Node's TLS refuses the key and certificate https gives, as Node-RED would fail to start
   * (OpenSSL's reason, e.g. "key values mismatch"); unset when it accepts them.
   */
  tlsError?: string;
  /** Real paths of the PEM files read while loading settings.js and calling https(). */
  pemFiles: string[];
  httpsRefreshInterval?: number | null;
  requireHttps?: boolean;
  uiHost?: string | null;
  /** settings.uiPort as a port number (null when unset or not a number; Node-RED then uses 1880 or -p). */
  uiPort?: number | null;
  credentialSecret?: 'set' | 'sample' | 'disabled' | 'unset';
  adminAuth?: AdminAuthSummary | null;
  httpNodeAuth?: BasicAuthSummary | null;
  httpStaticAuth?: BasicAuthSummary | null;
  httpStatic?: boolean;
  /** false when the editor and admin API are switched off. */
  httpAdminRoot?: string | false | null;
  /** false when HTTP-in endpoints and the dashboard are switched off. */
  httpNodeRoot?: string | false | null;
  userDir?: string | null;
  /** What https gives for client certificates (nrcert clients); null when it asks for none. */
  clientCerts?: { requestCert: boolean; rejectUnauthorized: boolean; ca: boolean; crl: boolean } | null;
}

/** Runs in the child: argv[1] = settings path, argv[2] = the sample hash, argv[3] = the sample secret. */
const PROBE_SCRIPT = `
const fs = require("fs"), crypto = require("crypto"), tls = require("tls");
const [file, SAMPLE, SAMPLE_SECRET] = process.argv.slice(1);
const report = (r) => { process.stdout.write("\\nnrcert-probe " + JSON.stringify(r) + "\\n"); process.exit(0); };
const pemFiles = new Set();
const note = (f, data) => { try {
  if (/\\.(c|m)?js$|\\.json$|\\.node$/.test(String(f))) return;
  const head = Buffer.isBuffer(data) ? data.toString("latin1", 0, 4096) : String(data).slice(0, 4096);
  if (head.includes("-----BEGIN")) pemFiles.add(fs.realpathSync(f));
} catch (e) {} };
const readSync = fs.readFileSync;
fs.readFileSync = function (f, ...rest) { const d = readSync.call(this, f, ...rest); if (typeof f !== "number") note(f, d); return d; };
const readP = fs.promises.readFile;
fs.promises.readFile = async function (f, ...rest) { const d = await readP.call(this, f, ...rest); if (typeof f === "string" || f instanceof URL) note(f, d); return d; };
const readCb = fs.readFile;
fs.readFile = function (f, ...rest) { const cb = rest.pop(); return readCb.call(this, f, ...rest, (e, d) => { if (!e && typeof f !== "number") note(f, d); cb(e, d); }); };
let s;
try { s = require(file); } catch (e) { report({ error: String(e && e.message || e).split("\\n")[0], pemFiles: [] }); }
if (!s || typeof s !== "object") report({ error: "it does not export an object (module.exports = { … })", pemFiles: [] });
const hash = (h) => typeof h === "function" ? "function" : typeof h !== "string" || h === "" ? "none" : h === SAMPLE ? "sample"
  : /^\\$2[aby]\\$\\d\\d\\$[./A-Za-z0-9]{53}$/.test(h) ? "bcrypt" : /^[0-9a-f]{32}$/i.test(h) ? "md5" : "other";
const basic = (x) => !x ? null : (typeof x === "function" || Array.isArray(x)) ? { kind: "middleware" } : { kind: "basic", user: !!x.user, pass: hash(x.pass) };
const root = (v) => v === false ? false : typeof v === "string" ? v : null;
const a = s.adminAuth && Object.assign({}, s.adminAuth, s.adminAuth.module);
const users = !a ? [] : typeof a.users === "function" ? "function" : (Array.isArray(a.users) ? a.users : a.users ? [a.users] : [])
  .map((u) => ({ username: String(u && u.username), password: hash(u && u.password), permissions: JSON.stringify(u && u.permissions) }));
const r = {
  pemFiles: [], https: typeof s.https,
  httpsRefreshInterval: typeof s.httpsRefreshInterval === "number" ? s.httpsRefreshInterval : null,
  requireHttps: s.requireHttps === true, uiHost: typeof s.uiHost === "string" ? s.uiHost : null,
  uiPort: /^\\d{1,5}$/.test(String(s.uiPort)) ? Number(s.uiPort) : null,
  credentialSecret: s.credentialSecret === false ? "disabled" : typeof s.credentialSecret === "string" && s.credentialSecret !== ""
    ? (s.credentialSecret === SAMPLE_SECRET ? "sample" : "set") : "unset",
  adminAuth: !a ? null : { type: String(a.type), users,
    defaultPermissions: !a.default ? null : typeof a.default === "function" ? "function" : JSON.stringify(a.default.permissions) },
  httpNodeAuth: basic(s.httpNodeAuth || s.httpAuth), httpStaticAuth: basic(s.httpStaticAuth), httpStatic: !!s.httpStatic,
  httpAdminRoot: s.httpRoot === false ? false : root(s.httpAdminRoot), httpNodeRoot: s.httpRoot === false ? false : root(s.httpNodeRoot),
  userDir: typeof s.userDir === "string" ? s.userDir : null,
};
const done = () => { r.pemFiles = [...pemFiles]; report(r); };
if (!s.https) done();
Promise.resolve().then(() => typeof s.https === "function" ? s.https() : s.https).then((o) => {
  if (!o || typeof o !== "object") { r.httpsError = "settings.https gave no options object"; return done(); }
  if (!o.cert || !o.key) { r.httpsError = o.pfx ? "settings.https uses pfx, which nrcert does not check" : "settings.https gives no " + (o.cert ? "key" : "cert"); return done(); }
  try { r.certFingerprint256 = new crypto.X509Certificate(o.cert).fingerprint256; } catch (e) { r.httpsError = "the cert settings.https gives is not a PEM certificate"; }
  try { r.keySpki = crypto.createHash("sha256").update(crypto.createPublicKey(crypto.createPrivateKey({ key: o.key, passphrase: o.passphrase }))
    .export({ type: "spki", format: "der" })).digest("hex"); } catch (e) { r.httpsError = r.httpsError || "the key settings.https gives is not a readable private key"; }
  r.clientCerts = o.requestCert ? { requestCert: true, rejectUnauthorized: o.rejectUnauthorized !== false, ca: !!o.ca, crl: !!o.crl } : null;
  if (!r.httpsError) try { tls.createSecureContext({ key: o.key, cert: o.cert, passphrase: o.passphrase, ca: o.ca, crl: o.crl }); }
  catch (e) { r.tlsError = String(e && e.message || e).split("\\n")[0]; }
  done();
}).catch((e) => { r.httpsError = "settings.https() failed: " + String(e && e.message || e).split("\\n")[0]; done(); });
`;

/**
 * Loads settings.js in a child node and reports what Node-RED would see. Run as root, the child
 * runs as the file's owner (normally Node-RED's user): the file is code its owner can change, and
 * the certificate files are then read with Node-RED's own rights.
 */
export async function probeSettings(settingsPath: string, opts: { node?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<SettingsProbe> {
  const path = resolve(settingsPath);
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) return { path, found: false, pemFiles: [] };
  // Run as root, load it as its owner, as Node-RED does: never run a file another user may edit as root.
  const owner = process.getuid?.() === 0 && st.uid !== 0 ? { uid: st.uid, gid: st.gid } : {};
  // settings.js has no business seeing nrcert's secrets.
  const env = Object.fromEntries(Object.entries(withoutSecrets(opts.env ?? process.env)).filter(([, v]) => v !== undefined));
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(opts.node ?? process.execPath, ['-e', PROBE_SCRIPT, path, SAMPLE_PASSWORD_HASH, SAMPLE_CREDENTIAL_SECRET], {
      cwd: dirname(path), timeout: opts.timeoutMs ?? 20_000, encoding: 'utf8', env, maxBuffer: 4 * 1024 * 1024, ...owner,
    }));
  } catch (err) {
    const e = err as { killed?: boolean; code?: unknown };
    return { path, found: true, pemFiles: [], error: e.killed ? `loading it did not finish within ${(opts.timeoutMs ?? 20_000) / 1000} s` : `node exited with ${String(e.code)} while loading it` };
  }
  const line = stdout.split('\n').reverse().find((l) => l.startsWith('nrcert-probe '));
  if (!line) return { path, found: true, pemFiles: [], error: 'loading it printed no result (does it call process.exit?)' };
  return { path, found: true, ...(JSON.parse(line.slice('nrcert-probe '.length)) as Omit<SettingsProbe, 'path' | 'found'>) };
}
