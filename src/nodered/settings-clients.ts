/**
 * The client-certificate part of the nrcert block in settings.js (nrcert clients): what the
 * https function returns in `require` and `editor` mode, editor mode's httpAdminMiddleware and
 * its guard for the /comms websocket, reading the mode back, and judging what https() gives.
 * With client certificates off none of this is used and the block is exactly as before.
 */
import { BLOCK_BEGIN, BLOCK_END } from './settings-edit';
import type { SettingsProbe } from './settings-probe';

/** `require`: every connection needs a client certificate; `editor`: the editor and admin API do. */
export type ClientCertMode = 'require' | 'editor';

/** Where the client CA's certificate and CRL are, and which mode. */
export interface ClientCertSettings {
  mode: ClientCertMode;
  caFile: string;
  crlFile: string;
}

/** The line in the block that names the client-certificate mode (read back by clientCertModeIn). */
const MODE_LINE = '// nrcert client certificates: ';

/** The client-certificate mode of the nrcert block in `source`, or null when it has none. */
export function clientCertModeIn(source: string): ClientCertMode | null {
  const begin = source.indexOf(BLOCK_BEGIN);
  const end = source.indexOf(BLOCK_END, begin);
  if (begin < 0 || end < 0) return null;
  const m = /\/\/ nrcert client certificates: (require|editor)\b/.exec(source.slice(begin, end));
  return m ? (m[1] as ClientCertMode) : null;
}

/**
 * The end of the https function with client certificates: `ca` and `crl` from the client CA,
 * and the certificate text followed by a line that changes whenever the CA or the CRL does.
 * Node-RED's refresh (red.js) calls setSecureContext only when key or cert differ from what it
 * has, so without that line a new CRL would never be applied; OpenSSL ignores text outside the
 * BEGIN/END lines, so the certificate itself is unchanged. Session tickets are off as a second
 * guard: a resumed TLS session skips the certificate check (the test shows no resumption after
 * a revocation; Node's server keeps no session cache, and without tickets there is nothing to resume).
 */
export function clientCertLines(cc: ClientCertSettings, a: string, b: string, c: string): string[] {
  const lines = [
    `${b}${MODE_LINE}${cc.mode} (only certificates of this CA that its CRL does not list${cc.mode === 'editor' ? ' reach the editor' : ' get in'}).`,
    `${b}const ca = fs.readFileSync(${JSON.stringify(cc.caFile)}, "utf8");`,
    `${b}const crl = fs.readFileSync(${JSON.stringify(cc.crlFile)}, "utf8");`,
    `${b}// Node-RED applies a refresh only when key or cert changed: this line after the certificates`,
    `${b}// (ignored by OpenSSL) changes with the CRL, so a revocation applies at the next refresh.`,
    `${b}const stamp = require("crypto").createHash("sha256").update(ca).update(crl).digest("hex");`,
    `${b}return {`,
    `${c}key: fs.readFileSync(path.join(dir, "privkey.pem")),`,
    `${c}cert: fs.readFileSync(path.join(dir, "fullchain.pem"), "utf8") + "\\nnrcert client CA and CRL " + stamp + "\\n",`,
    `${c}ca: ca,`,
    `${c}crl: crl,`,
    `${c}// Fixed when Node-RED creates its server: changing them needs one restart.`,
    `${c}requestCert: true,`,
    `${c}rejectUnauthorized: ${cc.mode === 'require'},`,
    `${c}// No session tickets: a resumed session would skip the certificate and CRL check.`,
    `${c}secureOptions: require("crypto").constants.SSL_OP_NO_TICKET${cc.mode === 'editor' ? ',' : ''}`,
  ];
  if (cc.mode === 'editor') lines.push(...commsGuardLines(c, c + a.replace(/^/, ''), a));
  lines.push(`${b}};`);
  return lines;
}

/**
 * editor mode: the editor's websocket (/comms) is an HTTP upgrade, which never passes through
 * httpAdminMiddleware. Every request object of the server is made by this IncomingMessage class
 * (an http.createServer option that https.createServer takes), so its constructor can reach the
 * server before the first 'upgrade' is emitted and wrap its emit: an upgrade to the comms path
 * (computed as @node-red/editor-api's comms.js computes it) on a connection without an
 * authorised client certificate is answered 403 and closed before any listener sees it.
 */
function commsGuardLines(c: string, d: string, a: string): string[] {
  const [e, f, g] = [d + a, d + a + a, d + a + a + a];
  return [
    `${c}// The editor's websocket (/comms) bypasses httpAdminMiddleware: refuse its upgrade here.`,
    `${c}IncomingMessage: class extends require("http").IncomingMessage {`,
    `${d}constructor(socket) {`,
    `${e}super(socket);`,
    `${e}const server = socket && socket.server;`,
    `${e}if (!server || server.nrcertCommsGuard) return;`,
    `${e}server.nrcertCommsGuard = true;`,
    `${e}const emit = server.emit;`,
    `${e}server.emit = function (event, req, sock) {`,
    `${f}if (event === "upgrade" && !(req.socket && req.socket.authorized)) {`,
    `${g}const root = module.exports.httpAdminRoot || "/";`,
    `${g}const comms = (root.slice(0, 1) !== "/" ? "/" : "") + root + (root.slice(-1) === "/" ? "" : "/") + "comms";`,
    `${g}if (require("url").parse(req.url).pathname === comms) {`,
    `${g}${a}sock.end("HTTP/1.1 403 Forbidden\\r\\nConnection: close\\r\\nContent-Length: 0\\r\\n\\r\\n");`,
    `${g}${a}return true;`,
    `${g}}`,
    `${f}}`,
    `${f}return emit.apply(this, arguments);`,
    `${e}};`,
    `${d}}`,
    `${c}}`,
  ];
}

/**
 * editor mode: requests without an authorised client certificate leave the admin app
 * (`next("router")`), so the editor and admin API never see them, while http-in endpoints and
 * the dashboard, mounted after it (often at the same root), still answer.
 */
export function adminMiddlewareLines(a: string, b: string): string[] {
  return [
    `${a}// The editor and admin API only for an authorised client certificate; http-in and dashboard stay open.`,
    `${a}httpAdminMiddleware: function (req, res, next) {`,
    `${b}next(req.socket && req.socket.authorized ? undefined : "router");`,
    `${a}},`,
  ];
}

/** What is wrong with the client-certificate options https() gives, for the mode asked for. */
export function clientCertProblems(p: SettingsProbe, callHttps: boolean, cc: ClientCertSettings | undefined): string[] {
  if (!callHttps || p.https !== 'function' || p.httpsError) return [];
  const got = p.clientCerts ?? null;
  if (!cc) return got ? ['settings.https() asks for client certificates, but client certificates are off'] : [];
  if (!got || !got.ca || !got.crl) return [`settings.https() does not give ca, crl and requestCert for client certificates (${cc.mode} mode)`];
  if (got.rejectUnauthorized !== (cc.mode === 'require')) return [`settings.https() gives rejectUnauthorized: ${got.rejectUnauthorized}, not what ${cc.mode} mode needs`];
  return [];
}

