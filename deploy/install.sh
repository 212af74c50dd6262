#!/bin/sh
# Installs wardprobe on one probe (a Raspberry Pi or a spare Linux laptop).
# Usage: sudo deploy/install.sh [path/to/wardprobe] [path/to/wardprobe.yml]
# Build the binary first (make build, or GOARCH=arm64 make build for a Pi 4/5).
set -eu
bin=${1:-bin/wardprobe}
cfg=${2:-deploy/wardprobe.example.yml}
here=$(dirname "$0")
install -m 0755 "$bin" /usr/local/bin/wardprobe
/usr/local/bin/wardprobe check-config "$cfg"
install -d -m 0755 /etc/wardprobe
[ -e /etc/wardprobe/wardprobe.yml ] || install -m 0644 "$cfg" /etc/wardprobe/wardprobe.yml
install -m 0644 "$here/systemd/wardprobe.service" /etc/systemd/system/wardprobe.service
systemctl daemon-reload
systemctl enable --now wardprobe.service
echo "wardprobe installed: metrics on :9810, landing page at http://$(hostname):9810/"
