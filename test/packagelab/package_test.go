package packagelab

import (
	"debug/elf"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/deploy"
	"github.com/wardprobe/wardprobe/test/lab"
)

const (
	unitPath   = "/lib/systemd/system/wardprobe.service"
	targetUnit = "/lib/systemd/system/wardprobe-target.service"
	configPath = "/etc/wardprobe/wardprobe.yml"
	stateDir   = "/var/lib/wardprobe"
	wantsLink  = "/etc/systemd/system/multi-user.target.wants/wardprobe.service"
	sysctlPath = "/usr/lib/sysctl.d/60-wardprobe.conf"
)

// TestPackageArtefacts checks the three packages make package built: each
// is a .deb of its architecture holding a static binary for that CPU.
func TestPackageArtefacts(t *testing.T) {
	needBuilds(t)
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "armhf": elf.EM_ARM}
	for _, arch := range Arches {
		deb := Deb(built.v1, V1, arch)
		fields := run(t, "dpkg-deb", "--field", deb, "Package", "Version", "Architecture", "Depends")
		for _, want := range []string{"Package: wardprobe", "Version: " + V1, "Architecture: " + arch, "Depends: adduser"} {
			if !strings.Contains(fields, want) {
				t.Errorf("%s: control lacks %q:\n%s", deb, want, fields)
			}
		}
		dir := t.TempDir()
		run(t, "dpkg-deb", "--extract", deb, dir)
		f, err := elf.Open(filepath.Join(dir, "usr/bin/wardprobe"))
		if err != nil {
			t.Fatalf("%s: %v", deb, err)
		}
		if f.Machine != machines[arch] {
			t.Errorf("%s: binary is for %v, want %v", deb, f.Machine, machines[arch])
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: binary is dynamically linked (CGO_ENABLED=0 expected)", deb)
			}
		}
		f.Close()
		size, _ := os.Stat(deb)
		fmt.Printf("package: %s (%.1f MiB)\n", filepath.Base(deb), float64(size.Size())/(1<<20))
	}
}

// TestLintian runs lintian on the amd64 package: no error or warning that is
// not overridden (the overrides are explained in deploy/package/lintian-overrides;
// the informational tags left are listed in docs/deployment.md).
func TestLintian(t *testing.T) {
	needBuilds(t)
	lintian := lab.Tool(t, "lintian")
	out, err := exec.Command(lintian, "--fail-on", "error,warning", "--info", "--no-tag-display-limit",
		Deb(built.v1, V1, "amd64")).CombinedOutput()
	t.Logf("lintian:\n%s", out)
	if err != nil {
		t.Errorf("lintian: %v\n%s", err, out)
	}
}

// TestPackageLifecycle installs the amd64 package, checks what it made, runs
// the daemon the way its unit does (as the wardprobe user with CAP_NET_RAW
// only, reloads through the unit's ExecReload), upgrades it, removes and
// purges it. systemd is not PID 1 here: dpkg runs in a private mount
// namespace where /run/systemd/system exists and systemctl and
// deb-systemd-invoke are recording stand-ins, so the maintainer scripts take
// their systemd branch and what they ask systemd to do is checked.
func TestPackageLifecycle(t *testing.T) {
	needBuilds(t)
	lab.Require(t)
	analyze := lab.Tool(t, "systemd-analyze")
	sys := newFakeSystemd(t)
	preflight(t, sys)
	keepARPSysctls(t) // restore's plain dpkg -P leaves them, but be safe
	t.Cleanup(func() { restore(t, sys) })

	// Install.
	sys.dpkg(t, "-i", Deb(built.v1, V1, "amd64"))
	sys.expect(t, "install", "systemctl --system daemon-reload", "deb-systemd-invoke start wardprobe.service")
	// The ARP settings for a connect test's second adapter, applied at
	// once (here in dpkg's private network namespace, from 0).
	if got := sys.arpSysctls(); got != "arp_ignore=1 arp_announce=2" {
		t.Errorf("after install: %q, want arp_ignore=1 arp_announce=2 (60-wardprobe.conf applied by postinst)", got)
	}
	u, err := user.Lookup("wardprobe")
	if err != nil {
		t.Fatalf("no wardprobe user after install: %v", err)
	}
	if uid, _ := strconv.Atoi(u.Uid); uid >= 1000 || uid == 0 {
		t.Errorf("wardprobe uid %s is not a system uid", u.Uid)
	}
	if u.HomeDir != stateDir {
		t.Errorf("wardprobe home %s, want %s", u.HomeDir, stateDir)
	}
	if pw := run(t, "getent", "passwd", "wardprobe"); !strings.HasSuffix(strings.TrimSpace(pw), ":/usr/sbin/nologin") {
		t.Errorf("wardprobe has a login shell: %s", pw)
	}
	checkFiles(t, []fileWant{
		{"/usr/bin/wardprobe", 0o755, "root", "root"},
		{"/etc/wardprobe", 0o750 | os.ModeDir, "root", "wardprobe"},
		{configPath, 0o640, "root", "wardprobe"},
		{"/etc/default/wardprobe", 0o644, "root", "root"},
		{stateDir, 0o750 | os.ModeDir, "wardprobe", "wardprobe"},
		{unitPath, 0o644, "root", "root"},
		{targetUnit, 0o644, "root", "root"},
		{"/usr/share/doc/wardprobe/examples/wardprobe.service.d/net-admin.conf", 0o644, "root", "root"},
		{"/usr/share/man/man1/wardprobe.1.gz", 0o644, "root", "root"},
		{sysctlPath, 0o644, "root", "root"},
	})
	if got, err := os.ReadFile(sysctlPath); err != nil || string(got) != string(readRepo(t, "deploy/sysctl/60-wardprobe.conf")) {
		t.Errorf("%s is not deploy/sysctl/60-wardprobe.conf (%v):\n%s", sysctlPath, err, got)
	}
	conffiles := run(t, "dpkg-query", "--showformat=${Conffiles}", "--show", "wardprobe")
	for _, c := range []string{configPath, "/etc/default/wardprobe", "/etc/default/wardprobe-target"} {
		if !strings.Contains(conffiles, c+" ") {
			t.Errorf("%s is not a conffile:\n%s", c, conffiles)
		}
	}
	if _, err := os.Lstat(wantsLink); err != nil {
		t.Errorf("wardprobe.service not enabled: %v", err)
	}
	if _, err := os.Lstat("/etc/systemd/system/multi-user.target.wants/wardprobe-target.service"); err == nil {
		t.Error("wardprobe-target.service enabled on install; it belongs on a data-centre VM")
	}
	if v := run(t, "/usr/bin/wardprobe", "version"); !strings.Contains(v, V1) {
		t.Errorf("wardprobe version = %q, want %s", v, V1)
	}
	// The config: readable by the service's group, by nobody else.
	asUser(t, "wardprobe", true, "/usr/bin/wardprobe", "check-config", configPath)
	asUser(t, "nobody", false, "/usr/bin/wardprobe", "check-config", configPath)
	// The installed units against the real binary.
	for _, unit := range []string{unitPath, targetUnit} {
		if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
		score, report, err := deploy.Exposure(analyze, unit)
		if err != nil {
			t.Fatalf("%v\n%s", err, report)
		}
		fmt.Printf("systemd-analyze security (installed): %s exposure %.1f (limit %.1f)\n", filepath.Base(unit), score, deploy.MaxExposure)
		if score > deploy.MaxExposure {
			t.Errorf("%s: exposure %.1f > %.1f", unit, score, deploy.MaxExposure)
		}
	}

	t.Run("RunAsUnit", func(t *testing.T) { runAsUnit(t, analyze) })

	// Upgrade over the admin's config (written by RunAsUnit, or here).
	admin := "# the admin's own config\nprobe: {name: lab-admin}\ntargets:\n  - {name: gw, kind: icmp, address: gateway}\n"
	writeFile(t, configPath, admin)
	uidBefore := u.Uid
	sys.dpkg(t, "-i", Deb(built.v2, V2, "amd64"))
	sys.expect(t, "upgrade", "deb-systemd-invoke restart wardprobe.service", "deb-systemd-invoke try-restart wardprobe-target.service")
	if got := sys.arpSysctls(); got != "arp_ignore=1 arp_announce=2" {
		t.Errorf("after upgrade: %q, want arp_ignore=1 arp_announce=2", got)
	}
	if v := run(t, "/usr/bin/wardprobe", "version"); !strings.Contains(v, V2) {
		t.Errorf("after upgrade wardprobe version = %q, want %s", v, V2)
	}
	if b, _ := os.ReadFile(configPath); string(b) != admin {
		t.Errorf("upgrade replaced the admin's config:\n%s", b)
	}
	checkFiles(t, []fileWant{{configPath, 0o640, "root", "wardprobe"}, {stateDir, 0o750 | os.ModeDir, "wardprobe", "wardprobe"}})
	if u2, err := user.Lookup("wardprobe"); err != nil || u2.Uid != uidBefore {
		t.Errorf("upgrade changed the wardprobe user: %v %v", u2, err)
	}

	// Remove: the binary goes, conffiles, user and state stay.
	sys.dpkg(t, "-r", "wardprobe")
	sys.expect(t, "remove", "deb-systemd-invoke stop wardprobe.service wardprobe-target.service", "systemctl --system daemon-reload")
	gone(t, "/usr/bin/wardprobe", unitPath, sysctlPath)
	for _, p := range []string{configPath, stateDir} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("remove deleted %s: %v", p, err)
		}
	}
	if _, err := user.Lookup("wardprobe"); err != nil {
		t.Errorf("remove deleted the user: %v", err)
	}

	// Purge: everything goes, credential files pushed beside the config too.
	if err := os.WriteFile("/etc/wardprobe/push-token", []byte("secret\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	sys.dpkg(t, "-P", "wardprobe")
	sys.expect(t, "purge")
	gone(t, wantsLink, "/etc/wardprobe", "/etc/default/wardprobe", "/etc/default/wardprobe-target", stateDir,
		"/var/lib/systemd/deb-systemd-helper-enabled/wardprobe.service.dsh-also",
		"/var/lib/systemd/deb-systemd-helper-masked/wardprobe.service")
	if _, err := user.Lookup("wardprobe"); err == nil {
		t.Error("purge left the wardprobe user")
	}
	if _, err := user.LookupGroup("wardprobe"); err == nil {
		t.Error("purge left the wardprobe group")
	}
	if st := dpkgStatus(); st != "" {
		t.Errorf("after purge dpkg still knows wardprobe: %s", st)
	}
}

// runAsUnit runs the installed daemon in a network namespace exactly as its
// unit's ExecStart would (environment from the unit and /etc/default, the
// wardprobe user, CAP_NET_RAW as its only capability, no new privileges),
// under strace; reloads it through the unit's ExecReload lines with a bad and
// a good config; and checks every system call it made is allowed by the
// unit's SystemCallFilter (@system-service minus @privileged and @resources).
func runAsUnit(t *testing.T, analyze string) {
	strace := lab.Tool(t, "strace")
	unit, err := ParseUnit(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	env, err := unit.Env()
	if err != nil {
		t.Fatal(err)
	}
	if env["WARDPROBE_LISTEN_ADDRESS"] != "127.0.0.1:9810" {
		t.Errorf("default listen address %q, want loopback 127.0.0.1:9810", env["WARDPROBE_LISTEN_ADDRESS"])
	}
	start, err := Command(unit.ExecStart, env)
	if err != nil {
		t.Fatal(err)
	}
	l := lab.New(t)
	probe, peer := l.Netns("probe"), l.Netns("peer")
	l.Veth(probe, "10.91.0.1/24", peer, "10.91.0.2/24")
	l.DefaultRoute(probe, "10.91.0.2")
	l.Resolver(probe, "10.91.0.2") // the system resolver inside the namespace is the lab's
	l.DNS(peer, "10.91.0.2", "--address=/epr.lab/10.91.0.2")
	ln := l.Listen(peer, "10.91.0.2:8080")
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })) //nolint:errcheck // ends when the listener closes
	base := `probe: {name: lab-unit}
targets:
  - {name: gateway, kind: icmp, address: gateway, interval: 200ms}
  - {name: dns, kind: dns, server: "10.91.0.2:53", query: epr.lab, interval: 1s}
  - {name: epr, kind: http, url: "http://epr.lab:8080/", interval: 1s}
`
	writeFile(t, configPath, base)
	traceDir, err := os.MkdirTemp("", "wardprobe-strace") // t.TempDir's parent is closed to other users
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(traceDir) })
	wp, err := user.Lookup("wardprobe")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(wp.Uid)
	if err := os.Chown(traceDir, uid, -1); err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(traceDir, "strace.txt")
	cmd := append([]string{"setpriv", "--reuid=wardprobe", "--regid=wardprobe", "--init-groups",
		"--inh-caps=-all,+net_raw", "--ambient-caps=-all,+net_raw", "--bounding-set=-all,+net_raw", "--no-new-privs", "--",
		strace, "-f", "-c", "-o", trace, "--"}, start...)
	envArgs := []string{"env", "-i", "PATH=/usr/bin:/bin", "GOMEMLIMIT=" + env["GOMEMLIMIT"]}
	d := l.WardprobeArgs(probe, "http://"+env["WARDPROBE_LISTEN_ADDRESS"], append(envArgs, cmd...)...)
	d.WaitFor(t, 15*time.Second, "icmp, dns and http results", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_packets_sent_total", "target", "gateway") >= 3 &&
			s.Value("wardprobe_target_up", "target", "dns") == 1 && s.Value("wardprobe_target_up", "target", "epr") == 1
	})
	if v := d.WaitFor(t, 5*time.Second, "icmp socket info", func(s lab.Samples) bool {
		_, ok := s.Get("wardprobe_icmp_socket_info", "mode", "raw")
		return ok
	}); v == nil {
		t.Error("no raw ICMP socket (CAP_NET_RAW not effective?)")
	}
	pid := tracee(t, d.Cmd.Process.Pid, "/usr/bin/wardprobe")
	reload := func(wantOK bool) string {
		t.Helper()
		renv := map[string]string{"MAINPID": strconv.Itoa(pid)}
		for _, line := range unit.ExecReload {
			argv, err := Command(line, renv)
			if err != nil {
				t.Fatal(err)
			}
			full := append([]string{"ip", "netns", "exec", probe, "setpriv", "--reuid=wardprobe", "--regid=wardprobe", "--init-groups", "--no-new-privs", "--"}, argv...)
			out, err := exec.Command(full[0], full[1:]...).CombinedOutput()
			if err != nil { // systemd stops at the first failing ExecReload
				if wantOK {
					t.Fatalf("ExecReload %s: %v\n%s", line, err, out)
				}
				return string(out)
			}
		}
		if !wantOK {
			t.Fatal("ExecReload accepted a bad config")
		}
		return ""
	}
	before := d.WaitFor(t, 5*time.Second, "reload metrics", func(s lab.Samples) bool {
		return s.Value("wardprobe_config_last_reload_successful") == 1
	}).Value("wardprobe_config_last_reload_success_timestamp_seconds")

	// A bad config: the check fails the reload, SIGHUP is never sent.
	writeFile(t, configPath, base+"  - {name: pacs, kind: tcp, adress: \"10.91.0.2:8080\"}\n")
	out := reload(false)
	if !regexp.MustCompile(regexp.QuoteMeta(configPath) + `:6: targets\[3\]\.adress: unknown key`).MatchString(out) {
		t.Errorf("the failed reload does not say why as FILE:LINE: path: message:\n%s", out)
	}
	time.Sleep(300 * time.Millisecond)
	s, err := d.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if s.Value("wardprobe_config_last_reload_successful") != 1 || s.Value("wardprobe_config_last_reload_success_timestamp_seconds") != before {
		t.Errorf("the bad config reached the daemon:\n%s", s.Grep("wardprobe_config"))
	}

	// A good config: checked, then SIGHUP; the new target shows up.
	writeFile(t, configPath, base+"  - {name: pacs, kind: tcp, address: \"10.91.0.2:8080\", interval: 1s}\n")
	time.Sleep(1100 * time.Millisecond) // the reload timestamp has 1 s resolution at worst
	reload(true)
	d.WaitFor(t, 10*time.Second, "the reloaded target", func(s lab.Samples) bool {
		return s.Value("wardprobe_target_up", "target", "pacs") == 1 &&
			s.Value("wardprobe_config_last_reload_success_timestamp_seconds") > before
	})

	// Stop it as systemd would (SIGTERM to the main process) and read the trace.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("wardprobe did not stop on SIGTERM")
	}
	if st := d.Cmd.ProcessState; st == nil || !st.Success() {
		t.Errorf("wardprobe exited with %v\n%s", st, d.Output.String())
	}
	summary, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	used := StraceSummary(string(summary))
	allowed, err := SyscallGroup(analyze, "@system-service")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"@privileged", "@resources"} {
		denied, err := SyscallGroup(analyze, g)
		if err != nil {
			t.Fatal(err)
		}
		for c := range denied {
			delete(allowed, c)
		}
	}
	var refused []string
	for _, c := range used {
		if !allowed[c] {
			refused = append(refused, c)
		}
	}
	fmt.Printf("system calls made by wardprobe run (icmp, dns, http, tcp, reloads, stop): %d, all in the unit's filter: %v\n", len(used), len(refused) == 0)
	if len(used) < 20 {
		t.Errorf("strace saw only %d system calls:\n%s", len(used), summary)
	}
	if len(refused) > 0 {
		t.Errorf("wardprobe makes system calls the unit's SystemCallFilter refuses: %v\n%s", refused, summary)
	}
}

// tracee returns the pid of the process running exe below pid (the daemon
// under setpriv and strace).
func tracee(t *testing.T, pid int, exe string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p := findExe(pid, exe, 4); p != 0 {
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s process below pid %d", exe, pid)
	return 0
}

func findExe(pid int, exe string, depth int) int {
	if target, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && target == exe {
		return pid
	}
	if depth == 0 {
		return 0
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, c := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(c)
			if p := findExe(n, exe, depth-1); p != 0 {
				return p
			}
		}
	}
	return 0
}

// fakeSystemd runs dpkg as if systemd were PID 1, recording what the
// maintainer scripts ask of it.
type fakeSystemd struct {
	bin, log string
}

func newFakeSystemd(t *testing.T) *fakeSystemd {
	dir := t.TempDir()
	f := &fakeSystemd{bin: filepath.Join(dir, "bin"), log: filepath.Join(dir, "systemd.log")}
	if err := os.Mkdir(f.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// systemctl --root=... works on unit files without a running systemd
	// (deb-systemd-helper's preset): pass it through; record the rest.
	scripts := map[string]string{
		"systemctl": "#!/bin/sh\ncase \"$*\" in *--root=*) exec /bin/systemctl \"$@\";; esac\necho \"systemctl $*\" >> " + f.log + "\n" +
			"case \"$1\" in is-active) [ -e " + f.log + ".active ];; enable) touch " + f.log + ".active;; esac\n",
		"deb-systemd-invoke": "#!/bin/sh\necho \"deb-systemd-invoke $*\" >> " + f.log + "\n",
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(f.bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// dpkg runs dpkg with args through run, failing t if it fails.
func (f *fakeSystemd) dpkg(t *testing.T, args ...string) string {
	t.Helper()
	out, err := f.run(append([]string{"dpkg"}, args...)...)
	if err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// run runs argv in a private mount namespace where /run/systemd/system
// exists, with the recording stand-ins first on PATH (`systemctl is-active`
// answers yes once `systemctl enable` was called), and in a private network
// namespace: what the maintainer scripts write to /proc/sys/net (the ARP
// settings of 60-wardprobe.conf) stays there. arp_ignore and arp_announce
// start at 0 and are recorded after argv (see arpSysctls).
func (f *fakeSystemd) run(argv ...string) (string, error) {
	script := `mount -t tmpfs -o mode=0755 wardprobe-lab /run/systemd && mkdir /run/systemd/system &&
c=/proc/sys/net/ipv4/conf/all && echo 0 > $c/arp_ignore && echo 0 > $c/arp_announce &&
{ "$@"; rc=$?; echo "arp_ignore=$(cat $c/arp_ignore) arp_announce=$(cat $c/arp_announce)" > ` + f.log + `.sysctl; exit $rc; }`
	full := append([]string{"--mount", "--propagation", "private", "--net", "--", "sh", "-c", script, "sh"}, argv...)
	cmd := exec.Command("unshare", full...)
	cmd.Env = append(os.Environ(), "PATH="+f.bin+":/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// expect checks that the calls recorded since the last expect include want,
// in that order, and that the scripts started, stopped or restarted nothing
// else. (deb-systemd-helper adds daemon-reloads of its own.)
func (f *fakeSystemd) expect(t *testing.T, step string, want ...string) {
	t.Helper()
	b, _ := os.ReadFile(f.log)
	os.Remove(f.log)
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	i := 0
	for _, l := range got {
		if i < len(want) && l == want[i] {
			i++
			continue
		}
		if strings.HasPrefix(l, "deb-systemd-invoke") {
			i = -1
			break
		}
	}
	if i != len(want) {
		t.Errorf("%s: the maintainer scripts asked systemd for\n  %s\nwant, in order and no other start/stop/restart,\n  %s",
			step, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// arpSysctls returns the ARP settings the last run left in its network
// namespace ("arp_ignore=N arp_announce=N"), and forgets them.
func (f *fakeSystemd) arpSysctls() string {
	b, _ := os.ReadFile(f.log + ".sysctl")
	os.Remove(f.log + ".sysctl")
	return strings.TrimSpace(string(b))
}

// keepARPSysctls restores this machine's ARP settings (net.ipv4.conf.all.
// arp_ignore and arp_announce) when t ends: a package installed outside
// fakeSystemd (the Ansible role's apt) applies 60-wardprobe.conf here.
func keepARPSysctls(t *testing.T) {
	t.Helper()
	saved := map[string][]byte{}
	for _, k := range []string{"arp_ignore", "arp_announce"} {
		p := "/proc/sys/net/ipv4/conf/all/" + k
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		saved[p] = b
	}
	t.Cleanup(func() {
		for p, b := range saved {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Errorf("restoring %s: %v", p, err)
			}
		}
	})
}

// dpkgStatus is the package's dpkg status, "" when dpkg does not know it.
func dpkgStatus() string {
	out, err := exec.Command("dpkg-query", "--showformat=${Status} ${Version}", "--show", "wardprobe").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// preflight makes sure the lab does not clobber a real installation: a
// package left by an interrupted lab run ("~lab" version) is purged; a real
// one, or a wardprobe user without the package, stops the test.
func preflight(t *testing.T, sys *fakeSystemd) {
	t.Helper()
	st := dpkgStatus()
	switch {
	case strings.Contains(st, "~lab"):
		t.Logf("purging a lab package left by an earlier run: %s", st)
		sys.dpkg(t, "-P", "wardprobe")
	case st != "" && !strings.HasPrefix(st, "unknown") && !strings.Contains(st, "not-installed"):
		t.Fatalf("wardprobe is installed on this machine (%s): the package lab would replace it; purge it first", st)
	}
	if _, err := user.Lookup("wardprobe"); err == nil {
		t.Fatal("a wardprobe user exists without the package: remove it (deluser --system wardprobe) before the package lab")
	}
	os.Remove(sys.log)
}

// restore purges the package and removes the user whatever happened.
func restore(t *testing.T, sys *fakeSystemd) {
	if st := dpkgStatus(); st != "" && !strings.Contains(st, "not-installed") {
		if out, err := exec.Command("dpkg", "-P", "wardprobe").CombinedOutput(); err != nil {
			t.Errorf("cleanup: dpkg -P wardprobe: %v\n%s", err, out)
		}
	}
	if _, err := user.Lookup("wardprobe"); err == nil {
		_ = exec.Command("deluser", "--system", "wardprobe").Run()
	}
	if _, err := user.LookupGroup("wardprobe"); err == nil {
		_ = exec.Command("delgroup", "--system", "wardprobe").Run()
	}
	os.RemoveAll(stateDir)
	os.RemoveAll("/etc/wardprobe")
}

type fileWant struct {
	path       string
	mode       os.FileMode
	owner, grp string
}

func checkFiles(t *testing.T, want []fileWant) {
	t.Helper()
	for _, w := range want {
		fi, err := os.Stat(w.path)
		if err != nil {
			t.Errorf("%s: %v", w.path, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		owner, grp := strconv.Itoa(int(st.Uid)), strconv.Itoa(int(st.Gid))
		if u, err := user.LookupId(owner); err == nil {
			owner = u.Username
		}
		if g, err := user.LookupGroupId(grp); err == nil {
			grp = g.Name
		}
		mode := fi.Mode() & (os.ModePerm | os.ModeDir)
		if mode != w.mode || owner != w.owner || grp != w.grp {
			t.Errorf("%s: %v %s:%s, want %v %s:%s", w.path, mode, owner, grp, w.mode, w.owner, w.grp)
		}
	}
}

func gone(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s still exists", p)
		}
	}
}

// asUser runs argv as user (no privileges) and checks it succeeds or fails.
func asUser(t *testing.T, user string, wantOK bool, argv ...string) {
	t.Helper()
	full := append([]string{"--reuid=" + user, "--regid=" + user, "--init-groups", "--no-new-privs", "--"}, argv...)
	out, err := exec.Command("setpriv", full...).CombinedOutput()
	if (err == nil) != wantOK {
		t.Errorf("as %s: %s: err=%v, want success=%v\n%s", user, strings.Join(argv, " "), err, wantOK, out)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writeFile replaces the content of an existing file, keeping its mode and owner.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readRepo reads a file of the repository.
func readRepo(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(built.root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
