package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestHelp: help lists every command and every flag, with double dashes,
// on stdout, and exits 0, as Prometheus exporters' do.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, errOut := runCLI(args...)
		if code != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
		for _, want := range []string{"run", "check-config", "target", "version",
			"--config", "--web.listen-address", "--web.config.file", "web.enable-lifecycle", "--log.level", "--log.format",
			"--listen", "--max-tests", "--max-upload-bytes", "version"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: help lacks %q", args, want)
			}
		}
	}
}

func TestSubcommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check-config", "--help"}, "Check a config file"},
		{[]string{"run", "--help"}, "web.enable-lifecycle"},
		{[]string{"target", "--help"}, "--stall-timeout"},
		{[]string{"help", "check-config"}, "Check a config file"},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) || strings.Contains(errOut, "no such file") {
			t.Errorf("%v: exit %d, stdout %.200q, stderr %q", tc.args, code, out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, _ := runCLI(args...)
		if code != 0 || !strings.HasPrefix(out, "wardprobe dev (go") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

func TestBadUsage(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"run", "--no-such-flag"}, {"check-config"}, {"run", "--log.format", "xml"}} {
		code, _, errOut := runCLI(args...)
		if code != 2 || !strings.Contains(errOut, "wardprobe:") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(good, []byte("targets:\n  - {name: gw, kind: tcp, address: \"10.0.0.1:22\"}\n"), 0o600)
	os.WriteFile(bad, []byte("targets:\n  - {name: gw, kind: tcp, adress: x}\n"), 0o600)
	if code, out, errOut := runCLI("check-config", good); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("good: %d %q %q", code, out, errOut)
	}
	code, _, errOut := runCLI("check-config", bad)
	if code != 1 || !strings.Contains(errOut, bad+`:2: targets[0].adress: unknown key (did you mean "address"?)`) {
		t.Errorf("bad: %d %q", code, errOut)
	}
}

// TestCheckConfigMasksCredentials: an error quoting a URL with a password
// (written where no URL belongs) shows no password, from check-config,
// --syntax-only and run alike.
func TestCheckConfigMasksCredentials(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("targets:\n  - {name: d, kind: dns, server: \"http://u:Pw-4417-leak@x\", query: a.example}\n"), 0o600)
	for _, args := range [][]string{{"check-config", bad}, {"check-config", "--syntax-only", bad}, {"run", "--config", bad, "--web.listen-address", "127.0.0.1:0"}} {
		code, out, errOut := runCLI(args...)
		if code != 1 || !strings.Contains(errOut, "targets[0].server") || strings.Contains(out+errOut, "Pw-4417-leak") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1, the error, no password", args, code, out, errOut)
		}
	}
}

// TestSubcommandHelpIsItsOwn: `wardprobe COMMAND --help` shows that
// command's usage line and flags, not every command's.
func TestSubcommandHelpIsItsOwn(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		usage, not string
	}{
		{[]string{"check-config", "--help"}, "usage: wardprobe check-config [<flags>] <file>", "--max-tests"},
		{[]string{"target", "--help"}, "usage: wardprobe target [<flags>]", "--syntax-only"},
		{[]string{"survey", "report", "--help"}, "usage: wardprobe survey report [<flags>] <dir>...", "--max-tests"},
	} {
		code, out, _ := runCLI(tc.args...)
		if code != 0 || !strings.HasPrefix(out, tc.usage) || strings.Contains(out, tc.not) {
			t.Errorf("%v: exit %d, help %.300q; want it to start %q and not list %s", tc.args, code, out, tc.usage, tc.not)
		}
	}
}
