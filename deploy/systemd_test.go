package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wardprobe/wardprobe/test/lab"
)

// unitCopies writes every shipped unit (and the drop-in directory) into a
// temporary directory with /usr/bin/wardprobe pointed at a stand-in binary,
// since systemd-analyze checks that ExecStart exists. It returns the
// directory and the unit file names.
func unitCopies(t *testing.T) (string, []string) {
	t.Helper()
	units, _ := filepath.Glob("systemd/*.service")
	if len(units) < 2 {
		t.Fatalf("expected wardprobe.service and wardprobe-target.service, found %v", units)
	}
	dir := t.TempDir()
	stand := filepath.Join(dir, "wardprobe-standin")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range units {
		text, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		fixed := strings.ReplaceAll(string(text), "/usr/bin/wardprobe", stand)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(u)), []byte(fixed), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(u))
	}
	return dir, names
}

// TestSystemdUnits runs systemd-analyze verify on every shipped unit.
func TestSystemdUnits(t *testing.T) {
	analyze := lab.Tool(t, "systemd-analyze")
	dir, names := unitCopies(t)
	for _, u := range names {
		out, err := exec.Command(analyze, "verify", filepath.Join(dir, u)).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("%s: systemd-analyze verify: %v\n%s", u, err, out)
		}
	}
}

// TestSystemdSecurityExposure prints the exposure level of both units, and of
// the main unit with the optional CAP_NET_ADMIN drop-in, and fails above
// MaxExposure.
func TestSystemdSecurityExposure(t *testing.T) {
	analyze := lab.Tool(t, "systemd-analyze")
	dir, names := unitCopies(t)
	check := func(label, path string) {
		v, report, err := Exposure(analyze, path)
		if err != nil {
			t.Fatalf("%v\n%s", err, report)
		}
		fmt.Printf("systemd-analyze security: %-45s exposure %.1f (limit %.1f)\n", label, v, MaxExposure)
		if v > MaxExposure {
			t.Errorf("%s: exposure %.1f > %.1f\n%s", label, v, MaxExposure, report)
		}
	}
	for _, u := range names {
		check(u, filepath.Join(dir, u))
	}
	// The drop-in applied: a copy of the main unit with it merged in, as
	// systemd would (later assignments to the capability sets replace).
	main, err := os.ReadFile(filepath.Join(dir, "wardprobe.service"))
	if err != nil {
		t.Fatal(err)
	}
	dropIn, err := os.ReadFile("systemd/wardprobe.service.d/net-admin.conf")
	if err != nil {
		t.Fatal(err)
	}
	// Capability sets: the drop-in's lines replace the unit's (it names both
	// capabilities); address-family allow-lists: systemd merges them.
	merged := regexp.MustCompile(`(?m)^(AmbientCapabilities|CapabilityBoundingSet)=.*\n`).ReplaceAllString(string(main), "")
	merged = strings.Replace(merged, "[Service]\n", "[Service]\n"+strings.SplitN(string(dropIn), "[Service]\n", 2)[1], 1)
	withDrop := filepath.Join(t.TempDir(), "wardprobe.service")
	if err := os.WriteFile(withDrop, []byte(merged), 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(merged, "CAP_NET_ADMIN") {
		t.Fatal("the net-admin drop-in does not grant CAP_NET_ADMIN")
	}
	check("wardprobe.service + net-admin.conf drop-in", withDrop)
}

// TestSystemdUnitContract checks what the units promise beyond their score.
func TestSystemdUnitContract(t *testing.T) {
	main, err := os.ReadFile("systemd/wardprobe.service")
	if err != nil {
		t.Fatal(err)
	}
	target, err := os.ReadFile("systemd/wardprobe-target.service")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		text []byte
		re   string
		want bool
	}{
		{"main: CAP_NET_RAW only", main, `(?m)^CapabilityBoundingSet=CAP_NET_RAW$`, true},
		{"main: no CAP_NET_ADMIN outside the drop-in", main, `(?m)^[A-Za-z]+=.*CAP_NET_ADMIN`, false},
		{"main: flags from /etc/default/wardprobe", main, `(?m)^EnvironmentFile=-/etc/default/wardprobe$`, true},
		{"main: listener from the environment file", main, `--web.listen-address=\$\{WARDPROBE_LISTEN_ADDRESS\}`, true},
		{"main: listener defaults to loopback", main, `(?m)^Environment=WARDPROBE_LISTEN_ADDRESS=127\.0\.0\.1:9810$`, true},
		{"main: reload checks the config first", main, `(?m)^ExecReload=/usr/bin/wardprobe check-config /etc/wardprobe/wardprobe.yml\nExecReload=/bin/kill -HUP \$MAINPID$`, true},
		{"main: lifecycle endpoints stay off", main, `enable-lifecycle`, false},
		{"main: the packaged user", main, `(?m)^User=wardprobe$`, true},
		{"main: private files", main, `(?m)^UMask=0077$`, true},
		{"target: no capabilities", target, `(?m)^CapabilityBoundingSet=$`, true},
		{"target: lifecycle endpoints stay off", target, `enable-lifecycle`, false},
	}
	for _, c := range cases {
		if got := regexp.MustCompile(c.re).Match(c.text); got != c.want {
			t.Errorf("%s: /%s/ matched=%v, want %v", c.name, c.re, got, c.want)
		}
	}
}
