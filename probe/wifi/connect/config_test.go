package connect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	base := Config{Interface: "wlan1", SSID: "CLINICAL", PSKFile: "/etc/wardprobe/psk"}
	tests := []struct {
		name   string
		mod    func(c *Config)
		fields []string // the fields with errors; none when valid
	}{
		{"psk", func(*Config) {}, nil},
		{"peap", func(c *Config) {
			c.PSKFile = ""
			c.EAP = &EAP{Method: "peap", Identity: "probe-ward7", PasswordFile: "/etc/wardprobe/eap.pass", CAFile: "/etc/wardprobe/ca.pem"}
		}, nil},
		{"ttls with pap", func(c *Config) {
			c.PSKFile = ""
			c.EAP = &EAP{Method: "ttls", Identity: "p", PasswordFile: "/p", Phase2: "pap"}
		}, nil},
		{"tls", func(c *Config) {
			c.PSKFile = ""
			c.EAP = &EAP{Method: "tls", Identity: "p", ClientCertFile: "/c.pem", ClientKeyFile: "/k.pem", CAFile: "/ca.pem"}
		}, nil},
		{"nothing", func(c *Config) { *c = Config{} }, []string{"interface", "ssid", "psk_file"}},
		{"both psk and eap", func(c *Config) { c.EAP = &EAP{Method: "peap", Identity: "p", PasswordFile: "/p"} }, []string{"psk_file"}},
		{"relative file", func(c *Config) { c.PSKFile = "psk" }, []string{"psk_file"}},
		{"quote in a path", func(c *Config) { c.PSKFile = `/etc/"psk` }, []string{"psk_file"}},
		{"long ssid", func(c *Config) { c.SSID = strings.Repeat("x", 33) }, []string{"ssid"}},
		{"short interval", func(c *Config) { c.Interval = 30 * time.Second; c.Timeout = 10 * time.Second }, []string{"interval"}},
		{"timeout over the interval", func(c *Config) { c.Interval = time.Minute; c.Timeout = 2 * time.Minute }, []string{"timeout"}},
		{"tls without key", func(c *Config) {
			c.PSKFile = ""
			c.EAP = &EAP{Method: "tls", Identity: "p", ClientCertFile: "/c.pem", PasswordFile: "/p"}
		}, []string{"eap.client_key_file", "eap.password_file"}},
		{"peap without password, with pap", func(c *Config) {
			c.PSKFile = ""
			c.EAP = &EAP{Method: "peap", Identity: "p", Phase2: "pap"}
		}, []string{"eap.password_file", "eap.phase2"}},
		{"unknown method", func(c *Config) {
			c.PSKFile = ""
			c.EAP = &EAP{Method: "leap", Identity: "p"}
		}, []string{"eap.method"}},
		{"no identity", func(c *Config) {
			c.PSKFile = ""
			c.EAP = &EAP{Method: "peap", PasswordFile: "/p"}
		}, []string{"eap.identity"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mod(&c)
			err := c.WithDefaults().Validate()
			var got []string
			for _, e := range unwrap(err) {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("%v is not a FieldError", e)
				}
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("errors on %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
}

func unwrap(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestPSKHex(t *testing.T) {
	// IEEE 802.11-2020 J.4.2, test vector 1: passphrase "password", SSID "IEEE".
	got, err := pskHex("password", "IEEE")
	if err != nil || got != "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e" {
		t.Errorf("pskHex = %s, %v", got, err)
	}
	raw := strings.Repeat("AB", 32)
	if got, err := pskHex(raw, "x"); err != nil || got != strings.ToLower(raw) {
		t.Errorf("a raw PSK: %s, %v", got, err)
	}
	for _, bad := range []string{"short", strings.Repeat("x", 64), "tab\there-ok?"} {
		if _, err := pskHex(bad, "x"); err == nil {
			t.Errorf("pskHex(%q) accepted", bad)
		} else if strings.Contains(err.Error(), bad) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}

func TestCredentialsNeverShown(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const secret = "Sup3r-Secret-Pa55"
	pw := write("eap.pass", secret+"\n")
	ca := write("ca.pem", "x")
	c := Config{Interface: "wlan1", SSID: "CLINICAL", EAP: &EAP{Method: "peap", Identity: "probe", PasswordFile: pw, CAFile: ca}}.WithDefaults()
	n, err := buildNetwork(c)
	if err != nil {
		t.Fatal(err)
	}
	var secrets int
	for _, f := range n.fields {
		if strings.Contains(f.value, secret) {
			t.Errorf("field %s holds the password in clear", f.name)
		}
		if f.secret {
			secrets++
			if f.name != "password" {
				t.Errorf("field %s marked secret", f.name)
			}
		}
	}
	if secrets != 1 {
		t.Errorf("%d secret fields, want 1 (the password)", secrets)
	}
	if cfg := supplicantConfig(dir); strings.Contains(cfg, secret) || strings.Contains(cfg, "network") {
		t.Errorf("the supplicant's config file holds a network:\n%s", cfg)
	}
	// A bad credential file names the file, not its content.
	c.EAP.PasswordFile = write("empty", "\n")
	if _, err := buildNetwork(c); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty password file: %v", err)
	}
	c.PSKFile, c.EAP = write("psk", "short-1\n"), nil
	if _, err := buildNetwork(c); err == nil || strings.Contains(err.Error(), "short-1") {
		t.Errorf("a 7-character passphrase: %v", err)
	}
	c.PSKFile = filepath.Join(dir, "missing")
	if _, err := buildNetwork(c); err == nil {
		t.Error("a missing PSK file was accepted")
	}
}

func TestPlanned(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(1000+int64(s), 0) }
	var nilPlanned *Planned
	if nilPlanned.Covers("wlan0", at(0)) {
		t.Error("a nil Planned covers something")
	}
	p := NewPlanned()
	p.Begin("wlan0", at(10))
	if !p.Covers("wlan0", at(11)) || p.Covers("wlan0", at(9)) || p.Covers("wlan1", at(11)) {
		t.Error("open window")
	}
	p.End("wlan0", at(20))
	for s, want := range map[int]bool{9: false, 10: true, 20: true, 21: true, 22: true, 23: false} {
		if got := p.Covers("wlan0", at(s)); got != want {
			t.Errorf("Covers(%d s) = %v, want %v", s, got, want)
		}
	}
	if !p.Overlaps("wlan0", at(0), at(10)) || p.Overlaps("wlan0", at(30), at(40)) {
		t.Error("Overlaps")
	}
	p.Begin("wlan0", at(5000))
	p.End("wlan0", at(5010))
	if p.Covers("wlan0", at(15)) {
		t.Error("a window older than an hour is still remembered")
	}
}
