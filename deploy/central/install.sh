#!/bin/sh
# Installs the single-node central stack for one trust on a Debian 12 VM,
# from Debian's packages (Prometheus 2.42, Alertmanager 0.25) and, when
# installed, Grafana (from Grafana Labs' APT repository: Grafana is not in
# Debian). Run as root from a checkout, after `wardprobe inventory ESTATE
# --out FLEET`:
#
#   deploy/central/install.sh FLEET
#
# Safe to run again: it copies the configs, checks them with promtool and
# amtool, and reloads the services.
set -eu
fleet=${1:?usage: deploy/central/install.sh FLEET_DIR (the --out directory of wardprobe inventory)}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "central/install.sh: run as root" >&2; exit 1; }
[ -d "$fleet/file_sd" ] || { echo "central/install.sh: $fleet/file_sd missing: run wardprobe inventory ESTATE --out $fleet" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends prometheus prometheus-alertmanager

# Prometheus: config, rules, targets, flags.
install -d -m 0755 /etc/prometheus/wardprobe /etc/prometheus/wardprobe/file_sd
install -m 0644 "$repo/deploy/prometheus/recording-rules.yml" "$repo/deploy/prometheus/alert-rules.yml" /etc/prometheus/wardprobe/
rm -f /etc/prometheus/wardprobe/file_sd/*.json
install -m 0644 "$fleet"/file_sd/*.json /etc/prometheus/wardprobe/file_sd/
install -m 0644 "$here/prometheus.yml" /etc/prometheus/prometheus.yml.new
promtool check config /etc/prometheus/prometheus.yml.new
mv /etc/prometheus/prometheus.yml.new /etc/prometheus/prometheus.yml
install -m 0644 "$here/default/prometheus" /etc/default/prometheus

# Alertmanager: routing (edit the receivers first: see docs/dashboards.md).
install -m 0644 "$repo/deploy/alertmanager/alertmanager.yml" /etc/prometheus/alertmanager.yml.new
amtool check-config /etc/prometheus/alertmanager.yml.new
mv /etc/prometheus/alertmanager.yml.new /etc/prometheus/alertmanager.yml
install -m 0644 "$here/default/prometheus-alertmanager" /etc/default/prometheus-alertmanager

# Grafana, if installed: data source, dashboards, floor plans.
if [ -d /etc/grafana/provisioning ]; then
	install -m 0644 "$here/grafana/datasource.yml" /etc/grafana/provisioning/datasources/wardprobe.yml
	install -m 0644 "$repo/dashboards/provisioning/dashboards/wardprobe.yml" /etc/grafana/provisioning/dashboards/wardprobe.yml
	install -d -m 0755 /var/lib/grafana/dashboards/wardprobe
	install -m 0644 "$repo"/dashboards/grafana/*.json /var/lib/grafana/dashboards/wardprobe/
	if [ -d "$fleet/floorplans" ] && [ -d /usr/share/grafana/public/img ]; then
		install -d -m 0755 /usr/share/grafana/public/img/wardprobe
		install -m 0644 "$fleet"/floorplans/* /usr/share/grafana/public/img/wardprobe/
	fi
else
	echo "central/install.sh: Grafana is not installed (it is not in Debian: add Grafana Labs' APT repository, apt-get install grafana, then run this again)"
fi

if [ -d /run/systemd/system ]; then
	systemctl enable prometheus prometheus-alertmanager
	systemctl restart prometheus prometheus-alertmanager
	if [ -d /etc/grafana/provisioning ]; then systemctl enable grafana-server; systemctl restart grafana-server; fi
fi
echo "central/install.sh: Prometheus on :9090, Alertmanager on localhost:9093, Grafana on :3000 when installed"
