#!/usr/bin/env bash
# Installs nrcert as a systemd service (or timer) beside the Raspberry Pi installer's
# nodered.service, as a dedicated user `nrcert`. This script IS deploy/README.md's systemd
# section: the README shows how to call it, and the test (test/integration/systemd-*.test.ts)
# runs it under a real systemd, so the documented steps and the tested ones are the same.
#
#   sudo ./install-systemd.sh --settings my.env nrcert-0.1.0.tgz      # or an unpacked folder
#
# Options:
#   --settings FILE        your settings (DOMAINS, CLOUDFLARE_API_TOKEN, NODE_RED_URL, ...; see
#                          .env.example), written to /etc/nrcert/nrcert.env (root only, 0600).
#                          Omitted: the existing /etc/nrcert/nrcert.env is kept.
#   --node-red-user USER   the user running Node-RED (default: pi); its ~/.node-red is used
#   --restart none|polkit  none (default): Node-RED re-reads the files (httpsRefreshInterval);
#                          polkit: install the polkit rule, RESTART_COMMAND="systemctl restart nodered"
#   --timer                nrcert-renew.timer (twice a day) instead of nrcert.service
#   --refresh-minutes N    how often Node-RED re-reads the certificate (default 1)
#   --editor-plugin        also the Node-RED editor's Certificates sidebar: CERT_DIR/editor
#                          (nrcert's, group of Node-RED's user) and node-red-contrib-nrcert in ~/.node-red
#   --no-start             install and enable, start nothing
# Running it again updates the package, the units and the managed settings; it is idempotent.
set -euo pipefail
umask 022

NR_USER=pi RESTART=none VARIANT=service REFRESH=1 START=yes SETTINGS= PACKAGE= EDITOR=no
PREFIX=/opt/nrcert ENV_DIR=/etc/nrcert UNIT_DIR=/etc/systemd/system
POLKIT_RULE=/etc/polkit-1/rules.d/50-nrcert-restart-nodered.rules
NODE=/usr/bin/node

say() { printf '==> %s\n' "$*"; }
die() { printf 'install-systemd: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --settings) SETTINGS="$2"; shift 2 ;;
    --node-red-user) NR_USER="$2"; shift 2 ;;
    --restart) RESTART="$2"; shift 2 ;;
    --timer) VARIANT=timer; shift ;;
    --refresh-minutes) REFRESH="$2"; shift 2 ;;
    --no-start) START=no; shift ;;
    --editor-plugin) EDITOR=yes; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$PACKAGE" ] || die "one package only"; PACKAGE="$1"; shift ;;
  esac
done
[ -n "$PACKAGE" ] || die "name the package: a nrcert-<version>.tgz or an unpacked folder (see --help)"
[ "$(id -u)" = 0 ] || die "run it as root (sudo)"
case "$RESTART" in none|polkit) ;; *) die "--restart is none or polkit, not $RESTART" ;; esac
[ -z "$SETTINGS" ] || [ -r "$SETTINGS" ] || die "cannot read --settings $SETTINGS"
[ -x "$NODE" ] || die "$NODE not found: the units run nrcert with it (install Node.js >= 20)"
NR_HOME="$(getent passwd "$NR_USER" | cut -d: -f6)" || die "no user $NR_USER (--node-red-user)"
NR_GROUP="$(id -gn "$NR_USER")"
NR_DIR="$NR_HOME/.node-red"
CERT_DIR="$NR_DIR/certs"
[ -f "$NR_DIR/settings.js" ] || die "no $NR_DIR/settings.js: start Node-RED once as $NR_USER first"
command -v setfacl >/dev/null || { say "installing acl (setfacl)"; apt-get install -y -qq acl >/dev/null; }
if [ "$RESTART" = polkit ] && [ ! -x /usr/lib/polkit-1/polkitd ]; then
  die "--restart polkit needs polkitd (sudo apt install polkitd), or use --restart none"
fi

say "user nrcert"
id nrcert >/dev/null 2>&1 ||
  useradd --system --user-group --home-dir /var/lib/nrcert --shell /usr/sbin/nologin nrcert

say "package $PACKAGE -> $PREFIX"
rm -rf "$PREFIX.new" && mkdir -p "$PREFIX.new"
if [ -d "$PACKAGE" ]; then
  # The package's files only: never a checkout's .env (a token) or .git.
  for entry in package.json dist deploy node_modules .env.example README.md LICENSE; do
    [ ! -e "$PACKAGE/$entry" ] || cp -a "$PACKAGE/$entry" "$PREFIX.new/"
  done
else
  # npm pack layout: everything under package/
  tar -xzf "$PACKAGE" -C "$PREFIX.new" --strip-components=1 --no-same-owner
fi
[ -f "$PREFIX.new/dist/cli/index.js" ] || die "$PACKAGE holds no dist/cli/index.js: not a built nrcert package"
[ -d "$PREFIX.new/node_modules" ] || (cd "$PREFIX.new" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
chown -R root:root "$PREFIX.new" && chmod -R u+rwX,go+rX,go-w "$PREFIX.new"
rm -rf "$PREFIX.old"
[ ! -e "$PREFIX" ] || mv "$PREFIX" "$PREFIX.old"
mv "$PREFIX.new" "$PREFIX" && rm -rf "$PREFIX.old"
ln -sfn "$PREFIX/dist/cli/index.js" /usr/local/bin/nrcert

say "settings $ENV_DIR/nrcert.env"
install -d -m 0700 "$ENV_DIR"
ENV_FILE="$ENV_DIR/nrcert.env"
if [ -n "$SETTINGS" ]; then
  body="$(cat "$SETTINGS")"
elif [ -f "$ENV_FILE" ]; then
  body="$(sed '/^# BEGIN install-systemd/,/^# END install-systemd/d' "$ENV_FILE")"
else
  die "no --settings and no $ENV_FILE yet: pass your settings (DOMAINS, CLOUDFLARE_API_TOKEN, ...)"
fi
restart_command=none
[ "$RESTART" = none ] || restart_command="systemctl restart nodered"
# The managed block comes last: for systemd the last assignment wins, and the units'
# ReadWritePaths= and SupplementaryGroups= depend on these values.
(umask 077; {
  printf '%s\n' "$body"
  printf '# BEGIN install-systemd (rewritten by deploy/install/install-systemd.sh)\n'
  printf 'CERT_DIR=%s\nSTATE_DIR=/var/lib/nrcert\nCERT_GROUP=%s\n' "$CERT_DIR" "$NR_GROUP"
  printf 'RESTART_COMMAND=%s\nNODE_RED_USER_DIR=%s\n' "$restart_command" "$NR_DIR"
  printf '# END install-systemd\n'
} > "$ENV_FILE.tmp")
chmod 0600 "$ENV_FILE.tmp" && mv "$ENV_FILE.tmp" "$ENV_FILE"

say "CERT_DIR $CERT_DIR (nrcert:$NR_GROUP 0750), passage through $NR_HOME for nrcert"
# Bookworm's adduser makes home directories 0700: nrcert needs to pass through them.
setfacl -m u:nrcert:x "$NR_HOME" "$NR_DIR"
install -d -o nrcert -g "$NR_GROUP" -m 0750 "$CERT_DIR"
if [ ! -e "$CERT_DIR/privkey.pem" ]; then
  # Node-RED does not start with https settings and no files: a self-signed placeholder lets it
  # start now; the first renewal replaces it (and imports it as a lineage, see README "Files").
  say "placeholder self-signed certificate until the first issuance"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj '/CN=nrcert placeholder' \
    -keyout "$CERT_DIR/privkey.pem" -out "$CERT_DIR/fullchain.pem" 2>/dev/null
  cp "$CERT_DIR/fullchain.pem" "$CERT_DIR/cert.pem"
  chown nrcert:"$NR_GROUP" "$CERT_DIR"/*.pem && chmod 0640 "$CERT_DIR/privkey.pem" && chmod 0644 "$CERT_DIR"/*cert*.pem
fi

say "Node-RED settings.js reads $CERT_DIR"
(cd / && runuser -u "$NR_USER" -- env HOME="$NR_HOME" CERT_DIR="$CERT_DIR" NRCERT_ENV_FILE=/dev/null \
  "$NODE" "$PREFIX/dist/cli/index.js" settings --apply --settings "$NR_DIR/settings.js" --refresh-minutes "$REFRESH")

if [ "$EDITOR" = yes ]; then
  # As root, with the service's settings: nrcert creates CERT_DIR/editor as CERT_DIR's owner
  # (nrcert) with CERT_GROUP, runs npm as the owner of ~/.node-red and edits settings.js as its owner.
  say "Node-RED editor: $CERT_DIR/editor and node-red-contrib-nrcert in $NR_DIR"
  (cd / && env HOME="$NR_HOME" NRCERT_ENV_FILE="$ENV_FILE" \
    "$NODE" "$PREFIX/dist/cli/index.js" settings --apply --editor-plugin --settings "$NR_DIR/settings.js" --refresh-minutes "$REFRESH")
fi

say "units in $UNIT_DIR"
for unit in nrcert.service nrcert-renew.service nrcert-renew.timer nrcert-editor.service nrcert-editor.path; do
  sed -e "s#/home/pi/.node-red/certs#$CERT_DIR#g" -e "s#^SupplementaryGroups=pi\$#SupplementaryGroups=$NR_GROUP#" \
    "$PREFIX/deploy/systemd/$unit" > "$UNIT_DIR/$unit.tmp"
  chmod 0644 "$UNIT_DIR/$unit.tmp" && mv "$UNIT_DIR/$unit.tmp" "$UNIT_DIR/$unit"
done
if [ "$RESTART" = polkit ]; then
  install -d -m 0755 "$(dirname "$POLKIT_RULE")"
  # polkitd reloads on every change in rules.d: a file that `install` has created but not yet
  # filled or made readable fails to load ("Error loading script") and the rule is missing until
  # the next change. Write it beside, under a name polkitd ignores, then rename it into place.
  install -m 0644 "$PREFIX/deploy/polkit/50-nrcert-restart-nodered.rules" "$(dirname "$POLKIT_RULE")/.nrcert.tmp"
  mv -f "$(dirname "$POLKIT_RULE")/.nrcert.tmp" "$POLKIT_RULE"
else
  rm -f "$POLKIT_RULE"
fi
systemctl daemon-reload

if systemctl cat nodered.service >/dev/null 2>&1; then
  # Once, before the first issuance, so that Node-RED already serves https from CERT_DIR and
  # the first renewal's served-certificate check (NODE_RED_URL) can pass without a restart.
  say "restarting Node-RED once to load the new settings.js"
  [ "$START" = no ] || systemctl restart nodered
else
  say "no nodered.service here: restart Node-RED yourself once now"
fi

if [ "$VARIANT" = timer ]; then
  say "nrcert-renew.timer (nrcert.service disabled)"
  systemctl disable --now nrcert.service 2>/dev/null || true
  systemctl enable nrcert-renew.timer
  # The Node-RED editor's requests (Renew now, client certificates): no resident service watches them.
  systemctl enable nrcert-editor.path
  [ "$START" = no ] || systemctl start nrcert-editor.path
  # The first check now rather than at the next 00:00/12:00.
  [ "$START" = no ] || { systemctl start nrcert-renew.timer && systemctl start --no-block nrcert-renew.service; }
else
  say "nrcert.service (nrcert-renew.timer disabled)"
  systemctl disable --now nrcert-renew.timer nrcert-editor.path 2>/dev/null || true
  systemctl enable nrcert.service
  [ "$START" = no ] || systemctl restart nrcert.service
fi
say "done: follow it with  journalctl -t nrcert -f"
