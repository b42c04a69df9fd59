#!/usr/bin/env bash
# Prints the path of a pristine Debian 12 (bookworm, systemd 252 = Raspberry Pi OS bookworm's)
# root for the systemd container tests, building it with debootstrap the first time (~3 min).
# The root is cached under NRCERT_TEST_CACHE (default /var/cache/nrcert-test), keyed by the
# package list, so later runs on the same machine only clone it. Needs root and debootstrap.
set -euo pipefail
# polkitd depends on default-logind | logind, which debootstrap does not resolve: libpam-systemd.
PACKAGES="systemd,systemd-sysv,libpam-systemd,dbus,sudo,openssl,ca-certificates,polkitd,acl,adduser,procps"
CACHE="${NRCERT_TEST_CACHE:-/var/cache/nrcert-test}"
KEY="$(printf '%s' "$PACKAGES" | sha256sum | cut -c1-12)"
ROOT="$CACHE/bookworm-root-$KEY"
if [ -f "$ROOT/.nrcert-complete" ]; then echo "$ROOT"; exit 0; fi

# The Debian archive this machine uses (apt sources), else deb.debian.org.
mirror="$(grep -rhoE '(URIs:|deb)\s+https?://[^ ]+/debian/?(\s|$)' /etc/apt/sources.list /etc/apt/sources.list.d 2>/dev/null \
  | grep -oE 'https?://[^ ]+' | head -n1 || true)"
mirror="${mirror:-http://deb.debian.org/debian}"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -f "$ROOT/.nrcert-complete" ]; then echo "$ROOT"; exit 0; fi
rm -rf "$ROOT.partial"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOT.partial" "$mirror" >&2
# No getty on a console nobody reads, and no network setup: the container shares the host's.
rm -f "$ROOT.partial/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
echo nrcert-test > "$ROOT.partial/etc/hostname"
touch "$ROOT.partial/.nrcert-complete"
rm -rf "$ROOT"
mv "$ROOT.partial" "$ROOT"
echo "$ROOT"
