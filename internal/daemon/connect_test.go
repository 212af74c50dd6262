package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/wifi/events"
)

func TestCheckConnectTestFiles(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "eap.pass")
	const password = "Ward7-Radius-Pa55"
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(yaml string) string {
		p := filepath.Join(dir, "wardprobe.yml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := write(`probe: {name: p}
wifi:
  interface: wlan0
  connect_test:
    interface: wlan1
    ssid: CLINICAL
    eap:
      method: peap
      identity: probe-ward7
      password_file: ` + pw + `
      ca_file: ` + filepath.Join(dir, "missing-ca.pem") + `
`)
	_, err := Check(cfg, &secret.Redactor{})
	if err == nil || !strings.Contains(err.Error(), "wardprobe.yml:11: wifi.connect_test.eap.ca_file:") {
		t.Errorf("a missing ca_file: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), password) {
		t.Errorf("the error shows the password: %v", err)
	}
	cfg = write(`probe: {name: p}
wifi:
  connect_test: {interface: wlan1, ssid: CLINICAL, psk_file: ` + filepath.Join(dir, "missing-psk") + `}
`)
	if _, err := Check(cfg, &secret.Redactor{}); err == nil || !strings.Contains(err.Error(), "wardprobe.yml:3: wifi.connect_test.psk_file:") {
		t.Errorf("a missing psk_file: %v", err)
	}
	psk := filepath.Join(dir, "psk")
	if err := os.WriteFile(psk, []byte("ward-seven-clinical\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = write(`probe: {name: p}
wifi:
  connect_test: {interface: wlan1, ssid: CLINICAL, psk_file: ` + psk + `}
`)
	if _, err := Check(cfg, &secret.Redactor{}); err != nil {
		t.Errorf("a valid connect test: %v", err)
	}
}

// TestPacketLogCountsRoamLosses: a packet every 100 ms with a 1 s timeout;
// those sent from 300 to 700 ms are lost, and a roam from 250 to 750 ms
// cost those 5 of the 5 it saw sent.
func TestPacketLogCountsRoamLosses(t *testing.T) {
	tests := []struct {
		name string
		// settled is how long after its send a lost packet is settled.
		settled time.Duration
		// withSent says whether results carry their Sent time; without it
		// a loss is placed a timeout before it was settled.
		withSent bool
	}{
		{"settled at the timeout, without send times", time.Second, false},
		// Settled late (the prober's goroutine ran late), a lost packet is
		// still placed at its own send time, in the roam it was lost in.
		{"settled late, with send times", 1400 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			var p packetLog
			for i := 0; i < 20; i++ {
				sent := t0.Add(time.Duration(i) * 100 * time.Millisecond)
				r := probe.Result{Target: "gw", Kind: "icmp", Packets: 1, Success: true, Duration: 5 * time.Millisecond, Time: sent.Add(5 * time.Millisecond)}
				if i >= 3 && i <= 7 {
					r = probe.Result{Target: "gw", Kind: "icmp", Packets: 1, Time: sent.Add(tt.settled)}
				}
				if tt.withSent {
					r.Sent = sent
				}
				p.observe(r, time.Second)
			}
			roam := events.Event{Type: events.Roam, Start: t0.Add(250 * time.Millisecond), Time: t0.Add(750 * time.Millisecond)}
			got := make(chan [2]int, 1)
			p.afterRoam(roam, func(sent, lost int) { got <- [2]int{sent, lost} })
			select {
			case r := <-got:
				if r != [2]int{5, 5} {
					t.Errorf("sent %d, lost %d during the roam: want 5 and 5", r[0], r[1])
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no report")
			}
		})
	}
}
