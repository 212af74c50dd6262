package packagelab

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardprobe/wardprobe/test/lab"
)

// TestInstallScript runs deploy/install.sh as an engineer would on a probe
// without the package: first with no config (the safe default goes in, not
// the example hospital), then with a bad config (refused, nothing changed),
// then with the probe's config (installed 0640 root:wardprobe, the service
// reloaded), then with the same config again (nothing to do). systemd is
// faked as in TestPackageLifecycle; the machine is restored at the end.
func TestInstallScript(t *testing.T) {
	needBuilds(t)
	lab.Require(t)
	sys := newFakeSystemd(t)
	preflight(t, sys)
	installed := []string{"/usr/local/bin/wardprobe", "/etc/systemd/system/wardprobe.service", "/etc/default/wardprobe"}
	for _, p := range installed {
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("%s exists: this lab would overwrite an installation", p)
		}
	}
	t.Cleanup(func() {
		for _, p := range installed {
			os.Remove(p)
		}
		os.RemoveAll("/etc/wardprobe")
		restore(t, sys)
	})
	script := filepath.Join(built.root, "deploy", "install.sh")
	bin := filepath.Join(built.v1, "build", "amd64", "wardprobe")
	install := func(wantOK bool, args ...string) string {
		t.Helper()
		out, err := sys.run(append([]string{"sh", script, bin}, args...)...)
		if (err == nil) != wantOK {
			t.Fatalf("install.sh %s: err=%v, want success=%v\n%s", strings.Join(args, " "), err, wantOK, out)
		}
		return out
	}
	safe, err := os.ReadFile(filepath.Join(built.root, "deploy", "package", "wardprobe.yml"))
	if err != nil {
		t.Fatal(err)
	}

	// 1. No config: the safe default, said plainly; the service started.
	out := install(true)
	if !strings.Contains(out, "no config given: installed the safe default config") {
		t.Errorf("install.sh does not say it installed the default:\n%s", out)
	}
	if b, _ := os.ReadFile(configPath); string(b) != string(safe) {
		t.Errorf("installed config is not the safe default:\n%s", b)
	}
	checkFiles(t, []fileWant{
		{"/usr/local/bin/wardprobe", 0o755, "root", "root"},
		{"/etc/wardprobe", 0o750 | os.ModeDir, "root", "wardprobe"},
		{configPath, 0o640, "root", "wardprobe"},
		{stateDir, 0o750 | os.ModeDir, "wardprobe", "wardprobe"},
	})
	unit, err := os.ReadFile("/etc/systemd/system/wardprobe.service")
	if err != nil || !strings.Contains(string(unit), "ExecStart=/usr/local/bin/wardprobe run") || strings.Contains(string(unit), "/usr/bin/wardprobe") {
		t.Errorf("installed unit does not run /usr/local/bin/wardprobe: %v\n%s", err, unit)
	}
	if _, err := user.Lookup("wardprobe"); err != nil {
		t.Errorf("no wardprobe user: %v", err)
	}
	sys.expectExactly(t, "first install", "systemctl daemon-reload", "systemctl is-active --quiet wardprobe.service", "systemctl enable --now wardprobe.service")

	// 2. A bad config: refused with its errors, nothing changed.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	good := filepath.Join(dir, "ward7.yml")
	if err := os.WriteFile(bad, []byte("probe: {name: w7}\ntargets:\n  - {name: gw, kind: icmp, adress: gateway}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = install(false, bad)
	if !strings.Contains(out, bad+":3: targets[0].adress: unknown key") || !strings.Contains(out, "nothing was changed") {
		t.Errorf("bad config: output lacks its error or the reassurance:\n%s", out)
	}
	if b, _ := os.ReadFile(configPath); string(b) != string(safe) {
		t.Error("a bad config replaced the installed one")
	}
	sys.expectExactly(t, "bad config")

	// 3. The probe's config: installed 0640 root:wardprobe, the service reloaded.
	ward := "probe: {name: w7}\nlocation: {site: S, building: B, floor: \"1\", ward: W7}\ntargets:\n  - {name: gw, kind: icmp, address: gateway}\n"
	if err := os.WriteFile(good, []byte(ward), 0o644); err != nil {
		t.Fatal(err)
	}
	install(true, good)
	if b, _ := os.ReadFile(configPath); string(b) != ward {
		t.Errorf("the probe's config was not installed:\n%s", b)
	}
	checkFiles(t, []fileWant{{configPath, 0o640, "root", "wardprobe"}})
	sys.expectExactly(t, "new config", "systemctl daemon-reload", "systemctl is-active --quiet wardprobe.service", "systemctl reload wardprobe.service")

	// 4. The same again: nothing to do.
	if out := install(true, good); !strings.Contains(out, "nothing changed") {
		t.Errorf("a re-run with nothing new:\n%s", out)
	}
	sys.expectExactly(t, "same again", "systemctl daemon-reload", "systemctl is-active --quiet wardprobe.service")

	// 5. A new binary: restarted.
	newBin := filepath.Join(dir, "wardprobe")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newBin, append(b, 0), 0o755); err != nil { // same program, different file
		t.Fatal(err)
	}
	if out, err := sys.run("sh", script, newBin, good); err != nil {
		t.Fatalf("install.sh with a new binary: %v\n%s", err, out)
	}
	sys.expectExactly(t, "new binary", "systemctl daemon-reload", "systemctl is-active --quiet wardprobe.service", "systemctl restart wardprobe.service")
	if err := exec.Command("/usr/local/bin/wardprobe", "version").Run(); err != nil {
		t.Errorf("installed binary does not run: %v", err)
	}
}

// expectExactly checks the calls recorded since the last check are want.
func (f *fakeSystemd) expectExactly(t *testing.T, step string, want ...string) {
	t.Helper()
	b, _ := os.ReadFile(f.log)
	os.Remove(f.log)
	got := strings.TrimSpace(string(b))
	if got != strings.Join(want, "\n") {
		t.Errorf("%s: install.sh asked systemd for\n  %s\nwant\n  %s", step, strings.ReplaceAll(got, "\n", "\n  "), strings.Join(want, "\n  "))
	}
}
