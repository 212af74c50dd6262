package wifilab

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/probe/wifi/connect"
	"github.com/wardprobe/wardprobe/probe/wifi/events"
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

// runConnect runs one connect test in the guest and returns its Result.
func runConnect(t *testing.T, v *vm, args string) connect.Result {
	t.Helper()
	// Both APs' channels only: a full scan of hwsim's 40 channels takes
	// 5 s under emulation.
	out := v.mustRun(t, "wifitool connect -timeout 45s -freqs 2412,5180 "+args+" 2>/tmp/connect.log", 120*time.Second)
	var r connect.Result
	if err := json.Unmarshal([]byte(lastLine(out)), &r); err != nil {
		t.Fatalf("connect test output: %v\n%s", err, out)
	}
	return r
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func phaseLine(r connect.Result) string {
	var b strings.Builder
	for _, p := range r.Phases {
		fmt.Fprintf(&b, "%s %.0f ms, ", p.Phase, float64(p.Duration.Microseconds())/1000)
	}
	return strings.TrimSuffix(b.String(), ", ")
}

// connectTests runs connect tests on wlan3 (PSK, PEAP, TTLS, EAP-TLS and
// three faults) and checks that the main link on wlan2 saw nothing of them.
func connectTests(t *testing.T, v *vm) {
	before, err := v.scrape()
	if err != nil {
		t.Fatal(err)
	}
	began := guestNow(t, v)
	const ca = "-ca-file /etc/eap/ca.pem"
	peap := "-eap peap -identity " + eapUser + " " + ca
	tests := []struct {
		name   string
		before string // a fault to inject, undone by after
		after  string
		args   string
		phase  connect.Phase
		reason connect.Reason
		eap    bool
	}{
		{name: "psk", args: "-psk-file /etc/wardprobe/psk"},
		{name: "peap-mschapv2", args: peap + " -password-file /etc/wardprobe/eap.pass", eap: true},
		{name: "ttls-pap", args: "-eap ttls -phase2 pap -identity " + eapUser + " -password-file /etc/wardprobe/eap.pass " + ca, eap: true},
		{name: "eap-tls", args: "-eap tls -identity " + tlsUser + " -client-cert /etc/eap/client.pem -client-key /etc/eap/client.key " + ca, eap: true},
		{name: "wrong password", args: peap + " -password-file /etc/wardprobe/eap-wrong.pass", phase: connect.PhaseEAP, reason: connect.ReasonRejected},
		{name: "ssid absent", args: "-ssid NOWHERE -psk-file /etc/wardprobe/psk", phase: connect.PhaseAssociation, reason: connect.ReasonNoAP},
		{name: "dhcp server stopped", before: "kill $(cat /run/dnsmasq.pid)", after: "ip netns exec ward dnsmasq --conf-file=/etc/dnsmasq.conf",
			args: "-timeout 5s -psk-file /etc/wardprobe/psk", phase: connect.PhaseDHCP, reason: connect.ReasonNoLease},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != "" {
				v.mustRun(t, tc.before, 10*time.Second)
				defer v.mustRun(t, tc.after, 10*time.Second)
			}
			r := runConnect(t, v, tc.args)
			if trace, _, err := v.run("cat /tmp/connect.log", 10*time.Second); err == nil && testing.Verbose() {
				t.Logf("supplicant messages:\n%s", trace)
			}
			t.Logf("%s: success=%v %s/%s %q; %s; bssid %s address %s", tc.name, r.Success, r.Phase, r.Reason, r.Detail, phaseLine(r), r.BSSID, r.Address)
			if tc.reason != "" {
				if r.Success || r.Phase != tc.phase || r.Reason != tc.reason {
					t.Errorf("got success=%v %s/%s, want a failure in %s with reason %s", r.Success, r.Phase, r.Reason, tc.phase, tc.reason)
				}
				return
			}
			if !r.Success {
				t.Fatalf("failed in %s: %s: %s", r.Phase, r.Reason, r.Detail)
			}
			want := []connect.Phase{connect.PhaseScan, connect.PhaseAssociation, connect.PhaseHandshake, connect.PhaseDHCP,
				connect.PhaseDNS, connect.PhaseGateway, connect.PhaseTotal}
			if tc.eap {
				want = append(want, connect.PhaseEAP)
			}
			var sum time.Duration
			for _, p := range want {
				d, ok := r.Duration(p)
				if !ok || d <= 0 {
					t.Errorf("phase %s: %v %v", p, d, ok)
				}
				if p != connect.PhaseScan && p != connect.PhaseTotal {
					sum += d
				}
			}
			if _, ok := r.Duration(connect.PhaseEAP); ok != tc.eap {
				t.Errorf("eap phase present: %v, want %v", ok, tc.eap)
			}
			if total, _ := r.Duration(connect.PhaseTotal); sum != total {
				t.Errorf("the phases add up to %s, total is %s", sum, total)
			}
			if !strings.HasPrefix(r.Address, "10.99.0.1") || r.Gateway != "10.99.0.1" || r.DNSServer != "10.99.0.1" {
				t.Errorf("lease %s via %s, DNS %s: want one from dnsmasq's range", r.Address, r.Gateway, r.DNSServer)
			}
		})
	}
	// The adapter is left as found: no address, no rule, no supplicant.
	out := v.mustRun(t, "ip -4 addr show dev wlan3; ip rule; ls /run/wardprobe/connect-wlan3/; pgrep -f 'wpa_supplicant -i wlan3' || true", 10*time.Second)
	if strings.Contains(out, "inet ") || strings.Contains(out, "wlan3 lookup") || strings.Contains(out, "wpa_supplicant.conf") {
		t.Errorf("the connect test left state behind:\n%s", out)
	}

	// The main link on wlan2 saw none of it.
	after, err := v.scrape()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"wardprobe_wifi_disconnects_total", "wardprobe_wifi_roams_total", "wardprobe_wifi_disconnected_seconds_total"} {
		if b, a := metric(before, m), metric(after, m); b != a {
			t.Errorf("%s went from %v to %v during the connect tests", m, b, a)
		}
	}
	if b, a := metric(before, "wardprobe_icmp_packets_lost_total", "target", "gateway"), metric(after, "wardprobe_icmp_packets_lost_total", "target", "gateway"); b != a {
		t.Errorf("the main link lost %v ICMP packets during the connect tests", a-b)
	}
	// Coverage stays usable; whether the voice standard's jitter holds
	// depends on the emulator's CPU, not on the radio.
	if st := state(after); (st != "good" && st != "degraded") || metric(after, "wardprobe_wifi_connected") != 1 {
		t.Errorf("main link after the connect tests: %s", link(after))
	}
	for _, e := range readEvents(t, v) {
		if !e.Time.Before(began) && (e.Type == events.Left || e.Type == events.Disconnect) {
			t.Errorf("the main link's events show %s during the connect tests: %+v", e.Type, e)
		}
	}
	t.Logf("main link during %s of connect tests: sent %v ICMP packets, lost none, no disconnect, coverage %s",
		guestNow(t, v).Sub(began).Round(time.Second),
		metric(after, "wardprobe_icmp_packets_sent_total", "target", "gateway")-metric(before, "wardprobe_icmp_packets_sent_total", "target", "gateway"), state(after))
}

// readEvents reads what the events listener wrote in the guest.
func readEvents(t *testing.T, v *vm) []events.Event {
	t.Helper()
	out := v.mustRun(t, "cat /tmp/events.jsonl", 10*time.Second)
	var evs []events.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e events.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("events line %q: %v", sc.Text(), err)
		}
		evs = append(evs, e)
	}
	return evs
}

// gapReport is wifitool roamgap's report.
type gapReport struct {
	GapStart, RoamSent, Connected time.Time
	Sent                          int
}

// roamGap: the AP the station is on (AP2 after the roam test) stops
// carrying its frames for a known gap, then the station roams to AP1. The
// roam measured from nl80211 events must match the outage the station had:
// from the gap's start to the new link being usable.
func roamGap(t *testing.T, v *vm) {
	// Longer than events.DefaultQuietAfter (300 ms), so the roam starts when
	// the AP went quiet; shorter than 7 beacon intervals (717 ms), after
	// which mac80211 would start probing the old AP by itself.
	const gap = 500 * time.Millisecond
	out := v.mustRun(t, fmt.Sprintf("wifitool roamgap -from 1 -to %s -gap %s", ap1BSSID, gap), 60*time.Second)
	var rep gapReport
	if err := json.Unmarshal([]byte(lastLine(out)), &rep); err != nil {
		t.Fatalf("roamgap output: %v\n%s", err, out)
	}
	var roam *events.Event
	var evs []events.Event
	deadline := time.Now().Add(10 * time.Second)
	for roam == nil && time.Now().Before(deadline) {
		evs = readEvents(t, v)
		for i, e := range evs {
			if e.Type == events.Roam && e.BSSID == ap1BSSID && e.From == ap2BSSID && !e.Time.Before(rep.GapStart) {
				roam = &evs[i]
			}
		}
		if roam == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if roam == nil {
		t.Fatalf("no roam event from AP2 to AP1 after the gap; events:\n%s", eventLines(evs, rep.GapStart))
	}
	truth := rep.Connected.Sub(rep.GapStart)
	t.Logf("gap %s injected; the station's outage (gap start to CTRL-EVENT-CONNECTED on AP1) %s; roam measured %s "+
		"(start %+.1f ms from the gap's start, quiet=%v; end %+.1f ms from CTRL-EVENT-CONNECTED; roam sent %s after the gap began; %d datagrams)",
		gap, truth.Round(time.Millisecond), roam.Duration.Round(time.Millisecond),
		ms(roam.Start.Sub(rep.GapStart)), roam.Quiet, ms(roam.Time.Sub(rep.Connected)), rep.RoamSent.Sub(rep.GapStart).Round(time.Millisecond), rep.Sent)
	if d := roam.Duration - truth; d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("roam measured %s, the outage was %s: off by %s (> 50 ms)", roam.Duration, truth, d)
	}
	if roam.Duration < gap {
		t.Errorf("roam measured %s, shorter than the %s gap", roam.Duration, gap)
	}
	if !roam.Quiet {
		t.Error("the roam did not start when the old AP went quiet")
	}
	for _, e := range evs {
		if e.Type == events.Disconnect && !e.Time.Before(rep.GapStart) {
			t.Errorf("the roam was counted as a disconnect: %+v", e)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func eventLines(evs []events.Event, since time.Time) string {
	var b strings.Builder
	for _, e := range evs {
		if !e.Time.Before(since.Add(-time.Second)) {
			fmt.Fprintf(&b, "%s %s %s from=%s reason=%s byAP=%v dur=%s\n", e.Time.Format("15:04:05.000"), e.Type, e.BSSID, e.From, e.ReasonName, e.ByAP, e.Duration)
		}
	}
	return b.String()
}

// deauthReason: AP1 deauthenticates the station with reason 34
// (missing_acks); the event is counted under that reason, as sent by the
// AP, within 100 ms of hostapd sending it.
func deauthReason(t *testing.T, v *vm) {
	const reason = 34
	since := guestNow(t, v)
	v.mustRun(t, fmt.Sprintf("ip netns exec ward hostapd_cli -p /run/hostapd -i wlan0 deauthenticate %s reason=%d", staBSSID, reason), 10*time.Second)
	var disc *events.Event
	var evs []events.Event
	for deadline := time.Now().Add(10 * time.Second); disc == nil && time.Now().Before(deadline); {
		evs = readEvents(t, v)
		for i, e := range evs {
			if e.Type == events.Disconnect && e.Time.After(since) {
				disc = &evs[i]
			}
		}
		if disc == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if disc == nil {
		t.Fatalf("no disconnect event; events:\n%s", eventLines(evs, since))
	}
	if disc.Reason != reason || disc.ReasonName != "missing_acks" || !disc.ByAP || disc.BSSID != ap1BSSID {
		t.Errorf("disconnect %+v, want reason %d (missing_acks) sent by AP1", *disc, reason)
	}
	// hostapd's log line for the deauthentication (its "-t" timestamp), and
	// the medium's, when it handed the frame to the station's radio.
	out := v.mustRun(t, "grep 'AP-STA-DISCONNECTED "+staBSSID+"' /tmp/ap1.log | tail -n 1", 10*time.Second)
	sent, err := logTime(out)
	if err != nil {
		t.Fatalf("hostapd's log: %v: %q", err, out)
	}
	out = v.mustRun(t, "grep 'deliver deauthentication from radio 0' /tmp/medium.log | tail -n 1", 10*time.Second)
	f := strings.Fields(out)
	n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
	if err != nil {
		t.Fatalf("medium's log: %v: %q", err, out)
	}
	delivered := time.Unix(0, n)
	lag := disc.Time.Sub(delivered)
	t.Logf("AP1 deauthenticated the station (reason %d) at %s, the medium delivered the frame %+.1f ms later; "+
		"disconnect event %+.1f ms after the delivery; reason %s, frame %s, by AP %v",
		reason, sent.Format("15:04:05.000"), ms(delivered.Sub(sent)), ms(lag), disc.ReasonName, disc.Frame, disc.ByAP)
	if lag < 0 || lag > 100*time.Millisecond {
		t.Errorf("the disconnect was seen %s after the frame reached the station, want within 100 ms", lag)
	}
	v.waitFor(t, 60*time.Second, "the station to reconnect after the deauthentication", func(s lab.Samples) bool {
		return metric(s, "wardprobe_wifi_connected") == 1
	})
}

// guestNow is the guest's clock, which stamps the events.
func guestNow(t *testing.T, v *vm) time.Time {
	t.Helper()
	out := v.mustRun(t, "wifitool now", 10*time.Second)
	n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("guest time %q: %v", out, err)
	}
	return time.Unix(0, n)
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
