#!/usr/bin/env bash
# Installs the Debian packages the tests, labs and benchmarks need, when missing.
# Run as root (CI is). Usage: test/deps.sh [test|bench]
set -euo pipefail
pkgs=(iproute2 nftables dnsmasq-base dbus-daemon prometheus prometheus-alertmanager
      qemu-system-x86 busybox-static hostapd wpasupplicant iw wireless-regdb cpio kmod systemd
      make lintian strace adduser ansible ansible-lint python3-apt
      chromium chromium-driver)
if [ "${1:-test}" = bench ]; then
  pkgs+=(fping prometheus-blackbox-exporter iperf3)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
