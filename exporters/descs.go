package exporters

import "github.com/prometheus/client_golang/prometheus"

// descs are the metric descriptions; each has the location labels first.
type descs struct {
	buildInfo, probeInfo, reloadOK, reloadTime, startTime, icmpMode *prometheus.Desc

	up, lastProbe, probes, failures *prometheus.Desc

	icmpSent, icmpLost, icmpRTT, icmpJitter *prometheus.Desc
	dnsLookup, dnsRcodes                    *prometheus.Desc
	httpPhase, httpStatus, httpCertExpiry   *prometheus.Desc
	httpBody                                *prometheus.Desc
	tcpConnect                              *prometheus.Desc

	wifi wifiDescs
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append(LocationLabelNames(), labels...), nil)
}

func newDescs() *descs {
	return &descs{
		buildInfo:  desc("wardprobe_build_info", "wardprobe's version and the Go version it was built with; always 1.", "version", "goversion"),
		probeInfo:  desc("wardprobe_probe_info", "Where this probe stands (spot, floor-plan x and y from 0 to 1) and the minimum standard its ward is held to; always 1.", "spot", "x", "y", "standard"),
		reloadOK:   desc("wardprobe_config_last_reload_successful", "Whether the last config reload succeeded (1) or failed and the previous config is still in force (0)."),
		reloadTime: desc("wardprobe_config_last_reload_success_timestamp_seconds", "When the config was last loaded successfully, in seconds since the Unix epoch."),
		startTime:  desc("wardprobe_start_time_seconds", "When this wardprobe process started, in seconds since the Unix epoch."),
		icmpMode:   desc("wardprobe_icmp_socket_info", "The kind of ICMP socket in use (unprivileged, raw or unavailable); always 1.", "mode"),

		up:        desc("wardprobe_target_up", "Whether the last probe of the target succeeded (1) or failed (0).", "target", "kind"),
		lastProbe: desc("wardprobe_target_last_result_timestamp_seconds", "When the target's last result came, in seconds since the Unix epoch.", "target", "kind"),
		probes:    desc("wardprobe_target_probes_total", "Probes of the target (for icmp, packets) whose outcome is known.", "target", "kind"),
		failures:  desc("wardprobe_target_failures_total", "Failed probes of the target by reason.", "target", "kind", "reason"),

		icmpSent:   desc("wardprobe_icmp_packets_sent_total", "ICMP echo requests sent whose outcome is known (answered or lost).", "target"),
		icmpLost:   desc("wardprobe_icmp_packets_lost_total", "ICMP echo requests lost: no reply within the per-packet timeout, or the send failed.", "target"),
		icmpRTT:    desc("wardprobe_icmp_rtt_seconds", "Round-trip time of answered ICMP echo requests, in seconds.", "target"),
		icmpJitter: desc("wardprobe_icmp_jitter_seconds", "Smoothed variation of consecutive ICMP round-trip times (RFC 3550 style), in seconds.", "target"),

		dnsLookup: desc("wardprobe_dns_lookup_seconds", "Time from sending a DNS query to its reply, in seconds.", "target"),
		dnsRcodes: desc("wardprobe_dns_responses_total", "DNS replies by response code.", "target", "rcode"),

		httpPhase:      desc("wardprobe_http_duration_seconds", "Duration of each phase of the last HTTP probe, in seconds.", "target", "phase"),
		httpStatus:     desc("wardprobe_http_status_code", "Status code of the last HTTP probe (0 when no response).", "target"),
		httpCertExpiry: desc("wardprobe_http_tls_cert_expiry_timestamp_seconds", "Earliest expiry of the served TLS certificate chain, in seconds since the Unix epoch.", "target"),
		httpBody:       desc("wardprobe_http_body_bytes", "Bytes of body read by the last HTTP probe (capped by max_body_bytes).", "target"),

		tcpConnect: desc("wardprobe_tcp_connect_seconds", "Time to set up a TCP connection, in seconds.", "target"),

		wifi: newWiFiDescs(),
	}
}
