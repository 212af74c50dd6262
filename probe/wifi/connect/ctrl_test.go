package connect

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseMsg(t *testing.T) {
	tests := []struct {
		in     string
		level  int
		name   string
		bssid  string
		fields map[string]string
		text   string
	}{{
		in:    "<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:00:00 completed [id=0 id_str=]",
		level: 3, name: "CTRL-EVENT-CONNECTED", bssid: "02:00:00:00:00:00", fields: map[string]string{"id": "0", "id_str": ""},
	}, {
		in:    "<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=3 locally_generated=1",
		level: 3, name: "CTRL-EVENT-DISCONNECTED", bssid: "02:00:00:00:01:00",
		fields: map[string]string{"bssid": "02:00:00:00:01:00", "reason": "3", "locally_generated": "1"},
	}, {
		in:    `<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid="CLINICAL WARD" auth_failures=1 duration=10 reason=WRONG_KEY`,
		level: 3, name: "CTRL-EVENT-SSID-TEMP-DISABLED",
		fields: map[string]string{"id": "0", "ssid": "CLINICAL WARD", "auth_failures": "1", "duration": "10", "reason": "WRONG_KEY"},
	}, {
		in:    "<3>CTRL-EVENT-EAP-TLS-CERT-ERROR reason=1 depth=0 subject='/CN=radius.lab' err='unable to get local issuer certificate'",
		level: 3, name: "CTRL-EVENT-EAP-TLS-CERT-ERROR",
		fields: map[string]string{"reason": "1", "depth": "0", "subject": "/CN=radius.lab", "err": "unable to get local issuer certificate"},
	}, {
		in: "<3>Associated with 02:00:00:00:00:00", level: 3, bssid: "02:00:00:00:00:00", text: "Associated with 02:00:00:00:00:00",
	}, {
		in: "<3>SME: Trying to authenticate with 02:00:00:00:00:00 (SSID='CLINICAL' freq=2412 MHz)", level: 3,
		bssid: "02:00:00:00:00:00", fields: map[string]string{"SSID": "CLINICAL", "freq": "2412"},
	}, {
		in: "IFNAME=wlan3 <4>CTRL-EVENT-SCAN-RESULTS ", level: 4, name: "CTRL-EVENT-SCAN-RESULTS",
	}, {
		in: "<3>CTRL-EVENT-NETWORK-NOT-FOUND \n", level: 3, name: "CTRL-EVENT-NETWORK-NOT-FOUND",
	}}
	for _, tc := range tests {
		m, err := ParseMsg(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if m.Level != tc.level || m.Name != tc.name || m.BSSID != tc.bssid {
			t.Errorf("%q: got level %d name %q bssid %q", tc.in, m.Level, m.Name, m.BSSID)
		}
		if tc.text != "" && m.Text != tc.text {
			t.Errorf("%q: text %q", tc.in, m.Text)
		}
		for k, v := range tc.fields {
			if m.Fields[k] != v {
				t.Errorf("%q: field %s = %q, want %q (all %v)", tc.in, k, m.Fields[k], v, m.Fields)
			}
		}
	}
	for _, in := range []string{"OK\n", "FAIL\n", "", "<", "<x>y", "<12345>z", "PONG"} {
		if _, err := ParseMsg(in); err == nil {
			t.Errorf("ParseMsg(%q) accepted a reply", in)
		}
	}
}

func FuzzParseMsg(f *testing.F) {
	for _, s := range []string{"<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:00:00 completed [id=0 id_str=]",
		"<3>a='b c' d=\"e", "IFNAME=x <2>k==v==", "<1>= = ="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMsg(s)
		if err != nil {
			return
		}
		if len(m.Fields) > maxFields {
			t.Errorf("%d fields", len(m.Fields))
		}
		if m.BSSID != "" && len(m.BSSID) != 17 {
			t.Errorf("bssid %q", m.BSSID)
		}
		tl := newTimeline(time.Unix(0, 0), true)
		tl.observe(time.Unix(1, 0), m)
		tl.timeout()
		tl.phases()
	})
}

// fakeSupplicant answers control requests on a unix datagram socket, as
// wpa_supplicant does: replies go to the sender, and before each reply it
// sends an unsolicited event to test that replies and events are told
// apart.
func fakeSupplicant(t *testing.T, dir string, answer func(req string) string) string {
	t.Helper()
	path := filepath.Join(dir, "wlan9")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := c.ReadFromUnix(buf)
			if err != nil {
				return
			}
			req := string(buf[:n])
			_, _ = c.WriteToUnix([]byte("<3>CTRL-EVENT-SCAN-STARTED "), from)
			_, _ = c.WriteToUnix([]byte(answer(req)), from)
		}
	}()
	return path
}

func TestCtrl(t *testing.T) {
	dir := t.TempDir()
	var got []string
	path := fakeSupplicant(t, dir, func(req string) string {
		got = append(got, req)
		switch {
		case req == "PING":
			return "PONG\n"
		case req == "ADD_NETWORK":
			return "0\n"
		case strings.HasPrefix(req, "SET_NETWORK 0 password"):
			return "FAIL\n"
		case req == "ATTACH":
			return "OK\n"
		}
		return "UNKNOWN COMMAND\n"
	})
	c, err := DialCtrl(path, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if r, err := c.Request(ctx, "PING"); err != nil || r != "PONG\n" {
		t.Errorf("PING: %q %v", r, err)
	}
	if r, err := c.Request(ctx, "ADD_NETWORK"); err != nil || strings.TrimSpace(r) != "0" {
		t.Errorf("ADD_NETWORK: %q %v", r, err)
	}
	_, err = c.Request(ctx, "SET_NETWORK 0 password 7365637265742d70617373")
	if err == nil || strings.Contains(err.Error(), "7365") || strings.Contains(err.Error(), "password") {
		t.Errorf("a failed SET_NETWORK: error %v (it must fail and show no value)", err)
	}
	if _, err := c.Request(ctx, "BOGUS"); err == nil {
		t.Error("UNKNOWN COMMAND was not an error")
	}
	if err := c.Attach(ctx); err != nil {
		t.Fatal(err)
	}
	// After ATTACH, Next returns events and skips replies.
	if _, err := c.c.Write([]byte("PING")); err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(time.Now().Add(2 * time.Second))
	if err != nil || m.Name != "CTRL-EVENT-SCAN-STARTED" {
		t.Errorf("Next: %+v %v", m, err)
	}
	if _, err := c.Next(time.Now().Add(50 * time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Next without events: %v, want a deadline error", err)
	}
	local := c.local
	c.Close()
	if _, err := os.Stat(local); !os.IsNotExist(err) {
		t.Errorf("local socket %s left behind: %v", local, err)
	}
}

func TestCtrlTimeout(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "silent")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := DialCtrl(path, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Request(ctx, "PING"); err == nil {
		t.Error("a silent supplicant answered")
	}
}
