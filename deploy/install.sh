#!/bin/sh
# Installs or updates wardprobe on one probe from a source build, where the
# .deb (make package; dpkg -i) cannot be used. Run as root:
#
#   deploy/install.sh [BINARY] [CONFIG]
#
#   BINARY  the wardprobe binary (default bin/wardprobe; GOARCH=arm64 make build for a Pi 4/5)
#   CONFIG  this probe's config (e.g. from `wardprobe inventory --out`). It is
#           checked first; a bad one changes nothing. Without it an existing
#           /etc/wardprobe/wardprobe.yml is kept, and a new probe gets the safe
#           default config (the built-in one: gateway ping and a DNS lookup,
#           location "unknown") - never the example hospital's.
#
# Installs /usr/local/bin/wardprobe, the wardprobe system user, the config
# (0640 root:wardprobe), /etc/default/wardprobe (listener on loopback until
# you set the management address), /var/lib/wardprobe and the hardened unit;
# then starts the service, restarts it when the binary or unit changed, or
# reloads it (which checks the config again) when only the config changed.
set -eu

bin=${1:-bin/wardprobe}
cfg=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
etc=/etc/wardprobe
unit=/etc/systemd/system/wardprobe.service

fail() { echo "install.sh: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root"
[ -f "$bin" ] && [ -x "$bin" ] || fail "no wardprobe binary at $bin (build it with make build)"
"$bin" version >/dev/null 2>&1 || fail "$bin does not run on this machine (built for another architecture?)"
if [ -n "$cfg" ]; then
	[ -f "$cfg" ] || fail "no config file at $cfg"
	if ! "$bin" check-config "$cfg"; then
		fail "$cfg is not valid (errors above); nothing was changed"
	fi
fi

# The system user and group (Debian: adduser --system; elsewhere useradd).
if ! getent group wardprobe >/dev/null; then
	if command -v addgroup >/dev/null 2>&1; then addgroup --quiet --system wardprobe
	else groupadd --system wardprobe; fi
fi
if ! getent passwd wardprobe >/dev/null; then
	if command -v adduser >/dev/null 2>&1; then
		adduser --quiet --system --ingroup wardprobe --no-create-home --home /var/lib/wardprobe \
			--shell /usr/sbin/nologin --gecos "wardprobe ward probe" wardprobe
	else
		useradd --system --gid wardprobe --no-create-home --home-dir /var/lib/wardprobe \
			--shell /usr/sbin/nologin --comment "wardprobe ward probe" wardprobe
	fi
fi

changed_bin=0 changed_unit=0 changed_cfg=0
if ! cmp -s "$bin" /usr/local/bin/wardprobe; then
	install -m 0755 "$bin" /usr/local/bin/wardprobe.new
	mv -f /usr/local/bin/wardprobe.new /usr/local/bin/wardprobe
	changed_bin=1
fi
install -d -m 0750 -o root -g wardprobe "$etc"
install -d -m 0750 -o wardprobe -g wardprobe /var/lib/wardprobe

# The config: the one given, else keep the existing one, else the safe default.
if [ -n "$cfg" ]; then
	if ! cmp -s "$cfg" "$etc/wardprobe.yml"; then
		install -m 0640 -o root -g wardprobe "$cfg" "$etc/wardprobe.yml.new"
		mv -f "$etc/wardprobe.yml.new" "$etc/wardprobe.yml"
		changed_cfg=1
		echo "install.sh: installed $cfg as $etc/wardprobe.yml"
	fi
elif [ -e "$etc/wardprobe.yml" ]; then
	echo "install.sh: no config given: keeping $etc/wardprobe.yml"
	/usr/local/bin/wardprobe check-config "$etc/wardprobe.yml" || fail "the existing $etc/wardprobe.yml is not valid: give a config"
else
	install -m 0640 -o root -g wardprobe "$here/package/wardprobe.yml" "$etc/wardprobe.yml"
	changed_cfg=1
	echo "install.sh: no config given: installed the safe default config (gateway ping and a DNS lookup, location unknown)."
	echo "install.sh: give this probe its own config: deploy/install.sh $bin path/to/its/wardprobe.yml"
fi
chown root:wardprobe "$etc/wardprobe.yml"
chmod 0640 "$etc/wardprobe.yml"

if [ ! -e /etc/default/wardprobe ]; then
	install -m 0644 "$here/package/default/wardprobe" /etc/default/wardprobe
	echo "install.sh: metrics are served on 127.0.0.1:9810 only: set WARDPROBE_LISTEN_ADDRESS in /etc/default/wardprobe to the management interface's address"
fi

tmp=$(mktemp)
sed 's#/usr/bin/wardprobe#/usr/local/bin/wardprobe#g' "$here/systemd/wardprobe.service" > "$tmp"
if ! cmp -s "$tmp" "$unit"; then
	install -m 0644 "$tmp" "$unit"
	changed_unit=1
fi
rm -f "$tmp"

if [ ! -d /run/systemd/system ]; then
	echo "install.sh: systemd is not running here: start the service with 'systemctl enable --now wardprobe' once it is"
	exit 0
fi
systemctl daemon-reload
if ! systemctl is-active --quiet wardprobe.service; then
	systemctl enable --now wardprobe.service
	echo "install.sh: wardprobe started"
elif [ "$changed_bin" = 1 ] || [ "$changed_unit" = 1 ]; then
	systemctl restart wardprobe.service
	echo "install.sh: wardprobe restarted"
elif [ "$changed_cfg" = 1 ]; then
	systemctl reload wardprobe.service
	echo "install.sh: wardprobe reloaded the new config"
else
	echo "install.sh: nothing changed"
fi
