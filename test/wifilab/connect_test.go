package wifilab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math"
	"math/big"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// radios is how many radios hwsim makes: AP1, AP2, the main station
// (wlan2) and the connect test's own adapter (wlan3).
const radios = 4

const staBSSID = "02:00:00:00:02:00" // wlan2, the main station

// addOpenSSL adds what hostapd's and wpa_supplicant's OpenSSL 3 need for
// MSCHAPv2: the legacy provider (MD4) and the config file.
func addOpenSSL(r *initramfs) error {
	for _, f := range []string{"/usr/lib/ssl/openssl.cnf", "/usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so"} {
		src, err := filepath.EvalSymlinks(f)
		if err != nil {
			return fmt.Errorf("OpenSSL file %s (package libssl3/openssl): %w", f, err)
		}
		r.copy(f, src, 0o644)
	}
	r.file("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	r.file("/etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	r.dir("/var/lib/misc")
	return nil
}

// Credentials of the lab network.
const (
	eapUser     = "probe-ward7"
	eapPassword = "ward7-radius-pass"
	tlsUser     = "tls-probe"
)

// connectFiles are the guest's private files (mode 0600): the RADIUS
// users, a lab CA with the server and client certificates made for this
// run, the connect test's credential files, and dnsmasq's config.
func connectFiles(t *testing.T) map[string]string {
	t.Helper()
	ca, caKey, _ := newCert(t, "wardprobe lab RADIUS CA", nil, nil, 0)
	server, _, serverKey := newCert(t, "radius.ward.lab", ca, caKey, x509.ExtKeyUsageServerAuth)
	client, _, clientKey := newCert(t, tlsUser, ca, caKey, x509.ExtKeyUsageClientAuth)
	return map[string]string{
		"/etc/eap/ca.pem":     ca.pem,
		"/etc/eap/server.pem": server.pem,
		"/etc/eap/server.key": serverKey,
		"/etc/eap/client.pem": client.pem,
		"/etc/eap/client.key": clientKey,
		// hostapd's integrated EAP server: phase 1 methods, then the inner
		// (phase 2) credentials.
		"/etc/eap/users": fmt.Sprintf(`"%s"	PEAP,TTLS
"%s"	TLS
"%s"	MSCHAPV2,TTLS-MSCHAPV2,TTLS-PAP	"%s"	[2]
`, eapUser, tlsUser, eapUser, eapPassword),
		"/etc/wardprobe/psk":            "ward-seven-clinical\n",
		"/etc/wardprobe/eap.pass":       eapPassword + "\n",
		"/etc/wardprobe/eap-wrong.pass": "not-the-password\n",
		"/etc/dnsmasq.conf": `interface=br0
bind-dynamic
except-interface=lo
dhcp-range=10.99.0.100,10.99.0.150,255.255.255.0,1h
dhcp-option=option:router,10.99.0.1
dhcp-option=option:dns-server,10.99.0.1
dhcp-authoritative
address=/ward.lab/10.99.0.1
no-resolv
no-hosts
user=root
pid-file=/run/dnsmasq.pid
dhcp-leasefile=/tmp/dnsmasq.leases
log-facility=/tmp/dnsmasq.log
log-dhcp
# The lab's offers come at once: no ICMP check that the address is free
# (dnsmasq's default waits up to 3 s for an answer).
no-ping
`,
	}
}

type cert struct {
	x   *x509.Certificate
	pem string
}

// newCert makes a CA (parent nil) or a certificate signed by parent, and
// returns it with its key and the key in PEM.
func newCert(t *testing.T, cn string, parent *cert, parentKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (*cert, *ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)}
	signer, signKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign|x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{usage}
		signer, signKey = parent.x, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := x509.ParseCertificate(der)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &cert{x: x, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
	return c, key, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

// sum is the _sum of a histogram series, count its _count.
func sum(s lab.Samples, name string, match ...string) float64 {
	return metric(s, name+"_sum", match...)
}

func count(s lab.Samples, name string, match ...string) float64 {
	return metric(s, name+"_count", match...)
}

// delta is how much a counter grew; an absent series is 0.
func delta(before, after lab.Samples, name string, match ...string) float64 {
	b, a := metric(before, name, match...), metric(after, name, match...)
	if math.IsNaN(b) {
		b = 0
	}
	if math.IsNaN(a) {
		a = 0
	}
	return a - b
}

// reconfigure writes the lab wardprobe's config and makes it reload.
func reconfigure(t *testing.T, v *vm, yaml string) {
	t.Helper()
	v.mustRun(t, "cat >/etc/wardprobe.yml <<'EOF'\n"+yaml+"EOF\nkill -HUP $(cat /run/wardprobe.pid)", 10*time.Second)
}

// settled waits until the main link has lost no ICMP packet for 3 s (a
// packet counts as lost 2 s after it was sent: the scenarios before may
// leave some in flight) and returns its metrics then.
func settled(t *testing.T, v *vm) lab.Samples {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		a, err := v.scrape()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		b, err := v.scrape()
		if err != nil {
			t.Fatal(err)
		}
		if metric(b, "wardprobe_target_up", "target", "gateway") == 1 && metric(b, "wardprobe_wifi_connected") == 1 &&
			delta(a, b, "wardprobe_icmp_packets_lost_total", "target", "gateway") == 0 {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("the main link did not settle: %s", link(b))
		}
	}
}

// connectSection is a wifi.connect_test section for the lab, on wlan3.
func connectSection(ssid, timeout, auth string) string {
	return connectSectionOn("wlan3", ssid, timeout, auth, "ward.lab")
}

func connectSectionOn(iface, ssid, timeout, auth, query string) string {
	return fmt.Sprintf(`  connect_test:
    interface: %s
    ssid: %s
    interval: 1m
    timeout: %s
    query: %s
    # Both APs' channels only: a full scan of hwsim's 40 channels takes 5 s under emulation.
    frequencies: [2412, 5180]
%s`, iface, ssid, timeout, query, auth)
}

// connectTests runs the real wardprobe's connect tests on wlan3 (PSK,
// PEAP, TTLS, EAP-TLS and three faults) by reconfiguring it, and checks
// from its /metrics that each phase is timed, each fault is located in
// its phase with its reason, and the main link on wlan2 saw nothing of it.
func connectTests(t *testing.T, v *vm) {
	before := settled(t, v)
	const ca = "      ca_file: /etc/eap/ca.pem\n"
	peap := func(pwfile string) string {
		return "    eap:\n      method: peap\n      identity: " + eapUser + "\n      password_file: " + pwfile + "\n" + ca
	}
	tests := []struct {
		name          string
		before, after string // a fault to inject, and its undoing
		ssid, timeout string
		auth          string
		phase         string
		reason        string
		eap           bool
	}{
		{name: "psk", auth: "    psk_file: /etc/wardprobe/psk\n"},
		{name: "peap-mschapv2", auth: peap("/etc/wardprobe/eap.pass"), eap: true},
		{name: "ttls-pap", auth: "    eap:\n      method: ttls\n      phase2: pap\n      identity: " + eapUser +
			"\n      password_file: /etc/wardprobe/eap.pass\n" + ca, eap: true},
		{name: "eap-tls", auth: "    eap:\n      method: tls\n      identity: " + tlsUser +
			"\n      client_cert_file: /etc/eap/client.pem\n      client_key_file: /etc/eap/client.key\n" + ca, eap: true},
		{name: "wrong password", auth: peap("/etc/wardprobe/eap-wrong.pass"), phase: "eap", reason: "rejected"},
		{name: "ssid absent", ssid: "NOWHERE", auth: "    psk_file: /etc/wardprobe/psk\n", phase: "association", reason: "no_ap"},
		{name: "dhcp server stopped", before: "kill $(cat /run/dnsmasq.pid)", after: "ip netns exec ward dnsmasq --conf-file=/etc/dnsmasq.conf",
			timeout: "5s", auth: "    psk_file: /etc/wardprobe/psk\n", phase: "dhcp", reason: "no_lease"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != "" {
				v.mustRun(t, tc.before, 10*time.Second)
				defer v.mustRun(t, tc.after, 10*time.Second)
			}
			ssidName, timeout := tc.ssid, tc.timeout
			if ssidName == "" {
				ssidName = ssid
			}
			if timeout == "" {
				timeout = "45s"
			}
			was, err := v.scrape()
			if err != nil {
				t.Fatal(err)
			}
			diag := func() string {
				out, _, _ := v.run("grep -E 'component=connect|reload' /tmp/wardprobe.log | grep -v wpa_supplicant: | tail -n 12", 10*time.Second)
				return out
			}
			tests := func(s lab.Samples) float64 {
				return delta(was, s, "wardprobe_wifi_connect_tests_total", "result", "success") +
					delta(was, s, "wardprobe_wifi_connect_tests_total", "result", "failure")
			}
			reconfigure(t, v, wardprobeYAML(connectSection(ssidName, timeout, tc.auth)))
			// Counters and histograms are read live, after the collector's
			// snapshot: wait for the last-test gauge, set with the rest of
			// the test's result, so that every series includes it.
			lastTest := func(s lab.Samples) float64 {
				return metric(s, "wardprobe_wifi_connect_last_test_timestamp_seconds")
			}
			s, took := v.waitFor(t, 90*time.Second, "a connect test", func(s lab.Samples) bool {
				return tests(s) >= 1 && !math.IsNaN(lastTest(s)) && lastTest(s) != lastTest(was)
			})
			if tests(s) != 1 {
				t.Errorf("%v tests, want 1", tests(s))
			}
			if tc.reason != "" {
				if got := delta(was, s, "wardprobe_wifi_connect_failures_total", "phase", tc.phase, "reason", tc.reason); got != 1 {
					t.Errorf("failures{phase=%s,reason=%s} grew by %v, want 1:\n%s\n%s\n%s", tc.phase, tc.reason, got,
						s.Grep("wardprobe_wifi_connect_failures"), s.Grep("wardprobe_wifi_connect_tests"), diag())
				}
				t.Logf("%s: failed in %s with %s (result after %s)", tc.name, tc.phase, tc.reason, took.Round(100*time.Millisecond))
				return
			}
			if got := delta(was, s, "wardprobe_wifi_connect_tests_total", "result", "success"); got != 1 {
				log, _, _ := v.run("grep -i connect /tmp/wardprobe.log | tail -n 5", 10*time.Second)
				t.Fatalf("the test failed:\n%s\n%s", s.Grep("wardprobe_wifi_connect_failures"), log)
			}
			var parts float64
			var line []string
			for _, p := range []string{"association", "eap", "handshake", "dhcp", "dns", "gateway", "total"} {
				n := count(s, "wardprobe_wifi_connect_duration_seconds", "phase", p) - count(was, "wardprobe_wifi_connect_duration_seconds", "phase", p)
				d := sum(s, "wardprobe_wifi_connect_duration_seconds", "phase", p) - sum(was, "wardprobe_wifi_connect_duration_seconds", "phase", p)
				if math.IsNaN(n) { // a phase seen for the first time
					n = count(s, "wardprobe_wifi_connect_duration_seconds", "phase", p)
					d = sum(s, "wardprobe_wifi_connect_duration_seconds", "phase", p)
				}
				want := 1.0
				if p == "eap" && !tc.eap {
					want = 0
				}
				if n != want && !(want == 0 && math.IsNaN(n)) {
					raw, _ := v.client.Get(v.metrics)
					var text []byte
					if raw != nil {
						text, _ = io.ReadAll(raw.Body)
						raw.Body.Close()
					}
					var lines []string
					for _, l := range strings.Split(string(text), "\n") {
						if strings.Contains(l, "wardprobe_wifi_connect") {
							lines = append(lines, l)
						}
					}
					t.Fatalf("phase %s: %v observations, want %v\n%s\n%s\nnow:\n%s", p, n, want, s.Grep("wardprobe_wifi_connect"), diag(), strings.Join(lines, "\n"))
				}
				if n == 1 {
					line = append(line, fmt.Sprintf("%s %.0f ms", p, d*1000))
					if p != "total" {
						parts += d
					} else if math.Abs(parts-d) > 0.001 {
						t.Errorf("the phases add up to %.3f s, total is %.3f s", parts, d)
					}
				}
			}
			t.Logf("%s: %s (result after %s)", tc.name, strings.Join(line, ", "), took.Round(100*time.Millisecond))
			if metric(s, "wardprobe_wifi_connect_last_test_success") != 1 || math.IsNaN(metric(s, "wardprobe_wifi_connect_last_success_timestamp_seconds")) {
				t.Errorf("last test gauges:\n%s", s.Grep("wardprobe_wifi_connect_last"))
			}
		})
	}
	// Without the section, the adapter is released: no address, no rule, no supplicant.
	reconfigure(t, v, wardprobeYAML(""))
	v.waitFor(t, 30*time.Second, "the connect test to stop", func(s lab.Samples) bool {
		_, on := s.Get("wardprobe_wifi_connect_info")
		return !on
	})
	out := v.mustRun(t, "sleep 1; ip -4 addr show dev wlan3; ip rule; ls /run/wardprobe/connect-wlan3/; ps | grep '[w]pa_supplicant -i wlan3' || true", 10*time.Second)
	if strings.Contains(out, "inet ") || strings.Contains(out, "wlan3 lookup") || strings.Contains(out, "wpa_supplicant.conf") || strings.Contains(out, "-i wlan3") {
		t.Errorf("the connect test left state behind:\n%s", out)
	}
	// The credentials never reached the log or the pages.
	page, _ := v.get("/")
	logs, _, _ := v.run("cat /tmp/wardprobe.log", 10*time.Second)
	for _, secret := range []string{eapPassword, "ward-seven-clinical", "not-the-password"} {
		if strings.Contains(logs, secret) || strings.Contains(page, secret) {
			t.Errorf("a credential (%q) shows in wardprobe's log or landing page", secret)
		}
	}

	// The main link on wlan2 saw none of it.
	after, err := v.scrape()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"wardprobe_wifi_disconnects_total", "wardprobe_wifi_roams_total", "wardprobe_wifi_disconnected_seconds_total",
		"wardprobe_wifi_roam_duration_seconds_count"} {
		if d := delta(before, after, m); d != 0 {
			t.Errorf("%s grew by %v during the connect tests", m, d)
		}
	}
	for _, r := range after.All("wardprobe_wifi_disconnect_reasons_total") {
		if d := delta(before, after, "wardprobe_wifi_disconnect_reasons_total", "reason", r.Labels["reason"]); d != 0 {
			t.Errorf("the main link counted %v disconnects (%s) during the connect tests", d, r.Labels["reason"])
		}
	}
	lost := delta(before, after, "wardprobe_icmp_packets_lost_total", "target", "gateway")
	if lost != 0 {
		log, _, _ := v.run("grep -E 'success=false|connect test|Wi-Fi' /tmp/wardprobe.log | grep -v 'wpa_supplicant:' | tail -n 40", 10*time.Second)
		t.Errorf("the main link lost %v ICMP packets during the connect tests; wardprobe's log:\n%s", lost, log)
	}
	// Coverage stays usable; whether the voice standard's jitter holds
	// depends on the emulator's CPU, not on the radio.
	if st := state(after); (st != "good" && st != "degraded") || metric(after, "wardprobe_wifi_connected") != 1 {
		t.Errorf("main link after the connect tests: %s", link(after))
	}
	t.Logf("main link during the connect tests: sent %v ICMP packets, lost %v, no disconnect, no roam, coverage %s",
		delta(before, after, "wardprobe_icmp_packets_sent_total", "target", "gateway"), lost, state(after))
}

// mainLinkTest: the connect test on the main link itself (wifi.interface).
// wardprobe takes wlan2 over from the lab's wpa_supplicant and keeps the
// link between tests; a reload that changes the section makes the next
// test start at once: the link is torn down and rebuilt from scratch. That
// planned reconnect counts as no disconnect, no disconnected time, no lost
// packet and no roam.
func mainLinkTest(t *testing.T, v *vm) {
	psk := "    psk_file: /etc/wardprobe/psk\n"
	was, err := v.scrape()
	if err != nil {
		t.Fatal(err)
	}
	v.mustRun(t, "kill $(cat /run/wpa.pid)", 10*time.Second)
	reconfigure(t, v, wardprobeYAML(connectSectionOn("wlan2", ssid, "45s", psk, "ward.lab")))
	v.waitFor(t, 90*time.Second, "wardprobe to bring the main link up", func(s lab.Samples) bool {
		return delta(was, s, "wardprobe_wifi_connect_tests_total", "result", "success") >= 1 && metric(s, "wardprobe_wifi_connected") == 1
	})
	// Let the ICMP target find the gateway through the lease.
	before := settled(t, v)
	reconfigure(t, v, wardprobeYAML(connectSectionOn("wlan2", ssid, "45s", psk, "www.ward.lab")))
	s, took := v.waitFor(t, 90*time.Second, "a planned reconnect of the main link", func(s lab.Samples) bool {
		return delta(before, s, "wardprobe_wifi_connect_tests_total", "result", "success") >= 1 && metric(s, "wardprobe_wifi_connected") == 1 &&
			metric(s, "wardprobe_wifi_planned_outage") == 0
	})
	time.Sleep(3 * time.Second) // the packets sent during the outage have had their 2 s timeout
	after, err := v.scrape()
	if err != nil {
		t.Fatal(err)
	}
	total := sum(s, "wardprobe_wifi_connect_duration_seconds", "phase", "total") - sum(before, "wardprobe_wifi_connect_duration_seconds", "phase", "total")
	t.Logf("planned reconnect of the main link: a connect test of %.0f ms (result after %s); disconnects +%v, disconnected +%.1f s, "+
		"ICMP lost +%v of %v sent, roams +%v",
		total*1000, took.Round(100*time.Millisecond), delta(before, after, "wardprobe_wifi_disconnects_total"),
		delta(before, after, "wardprobe_wifi_disconnected_seconds_total"),
		delta(before, after, "wardprobe_icmp_packets_lost_total", "target", "gateway"),
		delta(before, after, "wardprobe_icmp_packets_sent_total", "target", "gateway"), delta(before, after, "wardprobe_wifi_roams_total"))
	for _, m := range []string{"wardprobe_wifi_disconnects_total", "wardprobe_wifi_disconnected_seconds_total", "wardprobe_wifi_roams_total",
		"wardprobe_wifi_roam_duration_seconds_count"} {
		if d := delta(before, after, m); d != 0 {
			t.Errorf("%s grew by %v in a planned reconnect", m, d)
		}
	}
	for _, r := range after.All("wardprobe_wifi_disconnect_reasons_total") {
		if d := delta(before, after, "wardprobe_wifi_disconnect_reasons_total", "reason", r.Labels["reason"]); d != 0 {
			t.Errorf("a planned reconnect counted %v disconnects (%s)", d, r.Labels["reason"])
		}
	}
	if d := delta(before, after, "wardprobe_icmp_packets_lost_total", "target", "gateway"); d != 0 {
		t.Errorf("a planned reconnect lost %v ICMP packets", d)
	}
	if st := state(after); st == "disconnected" || st == "notspot" {
		t.Errorf("coverage %s after a planned reconnect", st)
	}
	if d := delta(before, after, "wardprobe_coverage_seconds_total", "state", "disconnected") +
		delta(before, after, "wardprobe_coverage_seconds_total", "state", "notspot"); d != 0 {
		t.Errorf("a planned reconnect booked %.1f s as disconnected or not-spot", d)
	}
}

// gapReport is wifitool roamgap's report.
type gapReport struct {
	GapStart, RoamSent, Connected time.Time
	Sent                          int
}

// roamGap: the AP the station is on (AP2 after the roam test) stops
// carrying its frames for a known gap, then the station roams to AP1.
// wardprobe's roam, timed from nl80211 events, must match the outage the
// station had: from the gap's start to the new link being usable.
func roamGap(t *testing.T, v *vm) {
	// Longer than events.DefaultQuietAfter (300 ms), so the roam starts when
	// the AP went quiet; shorter than 7 beacon intervals (717 ms), after
	// which mac80211 would start probing the old AP by itself.
	const gap = 500 * time.Millisecond
	const roams = "wardprobe_wifi_roam_duration_seconds"
	before, err := v.scrape()
	if err != nil {
		t.Fatal(err)
	}
	out := v.mustRun(t, fmt.Sprintf("wifitool roamgap -from 1 -to %s -gap %s", ap1BSSID, gap), 60*time.Second)
	var rep gapReport
	if err := json.Unmarshal([]byte(lastLine(out)), &rep); err != nil {
		t.Fatalf("roamgap output: %v\n%s", err, out)
	}
	s, _ := v.waitFor(t, 20*time.Second, "the roam to be timed", func(s lab.Samples) bool {
		return count(s, roams) > count(before, roams)
	})
	if n := count(s, roams) - count(before, roams); n != 1 {
		t.Fatalf("%v roams timed, want 1", n)
	}
	measured := time.Duration((sum(s, roams) - sum(before, roams)) * float64(time.Second))
	// The outage ends when wpa_supplicant reports the new link connected:
	// its own ("-t") timestamp, not when wifitool read the event.
	out = v.mustRun(t, "grep 'CTRL-EVENT-CONNECTED - Connection to "+ap1BSSID+"' /tmp/wpa.log", 10*time.Second)
	end := rep.Connected
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if at, err := logTime(line); err == nil && at.After(rep.GapStart) {
			end = at
			break
		}
	}
	truth := end.Sub(rep.GapStart)
	logs, _, _ := v.run("grep 'roam timed' /tmp/wardprobe.log | tail -n 1", 10*time.Second)
	t.Logf("gap %s injected; the station's outage (gap start to CTRL-EVENT-CONNECTED on AP1) %s; wardprobe measured %s "+
		"(ROAM sent %s after the gap began; wifitool read CONNECTED %+.1f ms after the supplicant logged it; packets lost in roams %v; %d datagrams of traffic)\n%s",
		gap, truth.Round(time.Millisecond), measured.Round(time.Millisecond), rep.RoamSent.Sub(rep.GapStart).Round(time.Millisecond),
		ms(rep.Connected.Sub(end)),
		delta(before, s, "wardprobe_wifi_roam_lost_packets_total"), rep.Sent, strings.TrimSpace(logs))
	if d := measured - truth; d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("roam measured %s, the outage was %s: off by %s (> 50 ms)", measured, truth, d)
	}
	if measured < gap {
		t.Errorf("roam measured %s, shorter than the %s gap", measured, gap)
	}
	for _, r := range s.All("wardprobe_wifi_disconnect_reasons_total") {
		if d := delta(before, s, "wardprobe_wifi_disconnect_reasons_total", "reason", r.Labels["reason"]); d != 0 {
			t.Errorf("the roam was counted as a disconnect (%s)", r.Labels["reason"])
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// deauthReason: AP1 deauthenticates the station with reason 34
// (missing_acks); wardprobe counts it under that reason, and sees it
// within 100 ms of the frame reaching the station.
func deauthReason(t *testing.T, v *vm) {
	const reason, name = 34, "missing_acks"
	const reasons = "wardprobe_wifi_disconnect_reasons_total"
	before, err := v.scrape()
	if err != nil {
		t.Fatal(err)
	}
	v.mustRun(t, fmt.Sprintf("ip netns exec ward hostapd_cli -p /run/hostapd -i wlan0 deauthenticate %s reason=%d", staBSSID, reason), 10*time.Second)
	s, _ := v.waitFor(t, 10*time.Second, "the disconnect reason", func(s lab.Samples) bool {
		return delta(before, s, reasons, "reason", name) >= 1
	})
	if d := delta(before, s, reasons, "reason", name); d != 1 {
		t.Errorf("%s{reason=%q} grew by %v, want 1", reasons, name, d)
	}
	// hostapd's log line for the deauthentication (its "-t" timestamp), and
	// the medium's, when it handed the frame to the station's radio.
	out := v.mustRun(t, "grep 'AP-STA-DISCONNECTED "+staBSSID+"' /tmp/ap1.log | tail -n 1", 10*time.Second)
	sent, err := logTime(out)
	if err != nil {
		t.Fatalf("hostapd's log: %v: %q", err, out)
	}
	// The first delivery of a deauthentication from AP1 after hostapd sent
	// it (the station's reconnection may bring more).
	out = v.mustRun(t, "grep 'deliver deauthentication from radio 0' /tmp/medium.log", 10*time.Second)
	var delivered time.Time
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			t.Fatalf("medium's log: %v: %q", err, line)
		}
		if at := time.Unix(0, n); at.After(sent.Add(-100 * time.Millisecond)) {
			delivered = at
			break
		}
	}
	if delivered.IsZero() {
		t.Fatalf("the medium delivered no deauthentication after %s:\n%s", sent.Format("15:04:05.000"), out)
	}
	seen := time.Unix(0, int64(metric(s, "wardprobe_wifi_last_disconnect_timestamp_seconds")*1e9))
	lag := seen.Sub(delivered)
	logs, _, _ := v.run("grep 'Wi-Fi: disconnected' /tmp/wardprobe.log | tail -n 1", 10*time.Second)
	t.Logf("AP1 deauthenticated the station (reason %d) at %s; the medium delivered the frame %+.1f ms later; "+
		"wardprobe's disconnect %+.1f ms after the delivery\n%s", reason, sent.Format("15:04:05.000"), ms(delivered.Sub(sent)), ms(lag),
		strings.TrimSpace(logs))
	// The gauge has millisecond resolution. wardprobe reads the kernel's
	// event as it comes (12 ms here on an idle machine, well within the
	// 100 ms target); the emulated guest's single CPU, shared by hostapd,
	// the medium and the supplicants, can delay any process by 100 ms more
	// under load. The bound still tells events (milliseconds) from polls
	// (up to the 1 s poll interval).
	if lag < -time.Millisecond || lag > 250*time.Millisecond {
		t.Errorf("the disconnect was seen %s after the frame reached the station, want within 250 ms (100 ms natively)", lag)
	}
	if !strings.Contains(logs, `"by_ap":true`) && !strings.Contains(logs, "by_ap=true") {
		t.Errorf("the log does not say the AP sent it: %s", logs)
	}
	v.waitFor(t, 60*time.Second, "the station to reconnect after the deauthentication", func(s lab.Samples) bool {
		return metric(s, "wardprobe_wifi_connected") == 1
	})
	// Leave the station on AP2, where the scenarios after this one expect it
	// (stopping AP1 first must not make it hop to AP2 and count a roam).
	v.mustRun(t, "wpa_cli -i wlan2 roam "+ap2BSSID+" >/dev/null || true", 20*time.Second)
	v.waitFor(t, 30*time.Second, "the station back on AP2", func(s lab.Samples) bool {
		return metric(s, "wardprobe_wifi_connected") == 1 && bssid(s) == ap2BSSID
	})
}

// logTime reads hostapd's "-t" timestamp ("1700000000.123456: ...").
func logTime(line string) (time.Time, error) {
	stamp, _, ok := strings.Cut(strings.TrimSpace(line), ":")
	if !ok {
		return time.Time{}, fmt.Errorf("no timestamp")
	}
	sec, frac, _ := strings.Cut(stamp, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(s, us*1000), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
