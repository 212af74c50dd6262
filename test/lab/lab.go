// Package lab builds throw-away network labs for tests: network namespaces
// joined by veth pairs, shaped with HTB, lossy through nftables, with local
// servers inside them. Everything a test creates is removed when it ends,
// passed or failed, and traffic stays inside the namespaces it made.
//
// Labs need root. Outside CI a non-root run skips them; under CI=true a
// missing privilege fails the test instead, so a lab is never silently skipped.
package lab

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Lab is a set of namespaces and processes owned by one test.
type Lab struct {
	t      testing.TB
	prefix string
	mu     sync.Mutex
	n      int
}

// New returns a Lab for t, or skips/fails t when labs cannot run here.
func New(t testing.TB) *Lab {
	t.Helper()
	Require(t)
	cleanStale()
	prefix := fmt.Sprintf("wp%d", os.Getpid()%100000)
	return &Lab{t: t, prefix: prefix}
}

// Require skips t (fails it under CI) unless this process can build labs.
func Require(t testing.TB) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "network labs need root"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "network labs need iproute2's ip"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI must run the labs: run the tests as root)", why)
	}
	t.Skip(why)
}

// cleanStale removes namespaces left by lab runs whose process is gone.
func cleanStale() {
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "wp") {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(name, "wp%d-", &pid); err != nil {
			continue
		}
		if pid == os.Getpid()%100000 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
		_ = os.RemoveAll(filepath.Join("/etc/netns", name))
	}
}

// Netns creates a namespace with loopback up and returns its name. It is
// deleted, with every process still in it, when the test ends.
func (l *Lab) Netns(short string) string {
	l.t.Helper()
	var rnd [3]byte
	_, _ = crand.Read(rnd[:])
	name := fmt.Sprintf("%s-%x%s", l.prefix, rnd, short)
	if len(name) > 31 {
		name = name[:31]
	}
	_ = exec.Command("ip", "netns", "del", name).Run()
	l.MustRun("", "ip", "netns", "add", name)
	l.t.Cleanup(func() {
		// Kill whatever still runs in it, then delete it.
		if out, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if f == fmt.Sprint(os.Getpid()) {
					continue
				}
				_ = exec.Command("kill", "-9", f).Run()
			}
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
		_ = os.RemoveAll(filepath.Join("/etc/netns", name))
	})
	l.MustRun(name, "ip", "link", "set", "lo", "up")
	return name
}

// Veth joins two namespaces with a veth pair and gives each end an address in
// CIDR form ("10.77.0.1/24"). It returns the two interface names (in ns1, ns2).
func (l *Lab) Veth(ns1, addr1, ns2, addr2 string) (if1, if2 string) {
	l.t.Helper()
	l.mu.Lock()
	l.n++
	n := l.n
	l.mu.Unlock()
	var rnd [3]byte
	_, _ = crand.Read(rnd[:])
	tmp1, tmp2 := fmt.Sprintf("wpa%x%d", rnd, n), fmt.Sprintf("wpb%x%d", rnd, n)
	if1, if2 = "veth"+fmt.Sprint(n)+"a", "veth"+fmt.Sprint(n)+"b"
	l.MustRun("", "ip", "link", "add", tmp1, "type", "veth", "peer", "name", tmp2)
	l.MustRun("", "ip", "link", "set", tmp1, "netns", ns1, "name", if1)
	l.MustRun("", "ip", "link", "set", tmp2, "netns", ns2, "name", if2)
	l.MustRun(ns1, "ip", "addr", "add", addr1, "dev", if1)
	l.MustRun(ns2, "ip", "addr", "add", addr2, "dev", if2)
	l.MustRun(ns1, "ip", "link", "set", if1, "up")
	l.MustRun(ns2, "ip", "link", "set", if2, "up")
	return if1, if2
}

// DefaultRoute points ns's default route at gw.
func (l *Lab) DefaultRoute(ns, gw string) {
	l.t.Helper()
	l.MustRun(ns, "ip", "route", "add", "default", "via", gw)
}

// Resolver makes ns's /etc/resolv.conf (as seen through ip netns exec) name
// server as its only nameserver.
func (l *Lab) Resolver(ns, server string) {
	l.t.Helper()
	dir := filepath.Join("/etc/netns", ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("nameserver "+server+"\noptions timeout:1 attempts:1\n"), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// HTB limits traffic leaving dev in ns to rate (tc syntax, e.g. "10mbit").
func (l *Lab) HTB(ns, dev, rate string) {
	l.t.Helper()
	l.MustRun(ns, "tc", "qdisc", "replace", "dev", dev, "root", "handle", "1:", "htb", "default", "10")
	l.MustRun(ns, "tc", "class", "add", "dev", dev, "parent", "1:", "classid", "1:10", "htb", "rate", rate, "ceil", rate)
}

// Loss makes ns drop percent% of incoming packets matching match (an nft
// expression such as "icmp type echo-request"), chosen at random per packet.
func (l *Lab) Loss(ns, match string, percent int) {
	l.t.Helper()
	rules := fmt.Sprintf(`table inet wplab {
  chain input {
    type filter hook input priority 0; policy accept;
    %s numgen random mod 100 < %d counter drop
  }
}
`, match, percent)
	if out, err := l.RunInput(ns, rules, "nft", "-f", "-"); err != nil {
		l.t.Fatalf("nft in %s: %v: %s", ns, err, out)
	}
}

// Run runs a command in ns ("" = the test's own namespace) and returns its
// combined output.
func (l *Lab) Run(ns string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	return string(out), err
}

// RunInput is Run with stdin as the command's standard input.
func (l *Lab) RunInput(ns, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// MustRun is Run that fails the test on error.
func (l *Lab) MustRun(ns string, args ...string) string {
	l.t.Helper()
	out, err := l.Run(ns, args...)
	if err != nil {
		l.t.Fatalf("%s (in %q): %v: %s", strings.Join(args, " "), ns, err, out)
	}
	return out
}

// Proc is a process started in a namespace.
type Proc struct {
	Cmd    *exec.Cmd
	Output *SafeBuffer
	done   chan struct{}
}

// SafeBuffer is a bytes.Buffer safe for concurrent use.
type SafeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SafeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SafeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start starts a command in ns in the background; it is stopped (SIGTERM,
// then SIGKILL after 5 s) when the test ends, and its output is logged if
// the test failed.
func (l *Lab) Start(ns string, args ...string) *Proc {
	l.t.Helper()
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	p := newProc(args)
	if err := p.Cmd.Start(); err != nil {
		l.t.Fatalf("starting %s: %v", strings.Join(args, " "), err)
	}
	return l.track(p, args)
}

// newProc returns args as a Proc not yet started, its output captured.
func newProc(args []string) *Proc {
	p := &Proc{Output: &SafeBuffer{}, done: make(chan struct{})}
	p.Cmd = exec.Command(args[0], args[1:]...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Output, p.Output
	return p
}

// track follows the started p: it is waited for, stopped when the test
// ends, and its output is logged if the test failed.
func (l *Lab) track(p *Proc, args []string) *Proc {
	go func() {
		_ = p.Cmd.Wait()
		close(p.done)
	}()
	name := strings.Join(args, " ")
	l.t.Cleanup(func() {
		p.Stop()
		if l.t.Failed() {
			l.t.Logf("output of %s:\n%s", name, p.Output.String())
		}
	})
	return p
}

// Stop sends SIGTERM and waits up to 5 s before SIGKILL. It returns the exit error.
func (p *Proc) Stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.Cmd.Process.Signal(unix.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
	return nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// InNetns runs f on an OS thread switched into namespace ns. Sockets f opens
// belong to ns and keep working afterwards from any goroutine. The thread is
// discarded after f, so no other goroutine ever runs in ns by accident.
func InNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("opening netns %s: %w", ns, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("entering netns %s: %w", ns, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Listen opens a TCP listener on addr inside ns.
func (l *Lab) Listen(ns, addr string) net.Listener {
	l.t.Helper()
	var ln net.Listener
	err := InNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		l.t.Fatalf("listening on %s in %s: %v", addr, ns, err)
	}
	l.t.Cleanup(func() { ln.Close() })
	return ln
}

// Client returns an HTTP client whose connections are made inside ns.
func Client(ns string) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := InNetns(ns, func() (err error) {
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
		DisableKeepAlives: true,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// DNS starts dnsmasq in ns as a DNS server on listen:53 that answers only
// from its own data (no upstream, no hosts file); records are dnsmasq options
// such as "--address=/epr.lab/10.77.0.9" or "--local=/lab/".
func (l *Lab) DNS(ns, listen string, records ...string) *Proc {
	l.t.Helper()
	args := append([]string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--bind-interfaces", "--listen-address=" + listen, "--port=53", "--user=root", "--pid-file="}, records...)
	return l.Start(ns, args...)
}

// MemoryCap puts the process pid in a new memory cgroup limited to limit
// bytes (cgroup v2's memory.max, or v1's memory.limit_in_bytes), removed
// when the test ends. It returns a function reporting the cgroup's peak
// memory use in bytes (0 when the kernel does not say).
func (l *Lab) MemoryCap(pid int, limit int64) (peak func() int64) {
	l.t.Helper()
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		l.t.Fatal(err)
	}
	var dir, limitFile, peakFile string
	for _, line := range strings.Split(string(self), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[1] == "memory": // v1
			dir, limitFile, peakFile = filepath.Join("/sys/fs/cgroup/memory", f[2]), "memory.limit_in_bytes", "memory.max_usage_in_bytes"
		case f[0] == "0" && dir == "": // v2
			base := "/sys/fs/cgroup"
			if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.procs"); err == nil {
				base = "/sys/fs/cgroup/unified"
			}
			if c, err := os.ReadFile(filepath.Join(base, f[2], "cgroup.controllers")); err == nil && strings.Contains(string(c), "memory") {
				dir, limitFile, peakFile = filepath.Join(base, f[2]), "memory.max", "memory.peak"
			}
		}
	}
	if dir == "" {
		l.t.Fatal("no memory cgroup controller to cap a process with")
	}
	cg := filepath.Join(dir, fmt.Sprintf("%s-cap%d", l.prefix, pid))
	if err := os.Mkdir(cg, 0o755); err != nil {
		l.t.Fatalf("memory cgroup: %v", err)
	}
	l.t.Cleanup(func() {
		// Move what is left back to the parent, then remove the group.
		if b, err := os.ReadFile(filepath.Join(cg, "cgroup.procs")); err == nil {
			for _, p := range strings.Fields(string(b)) {
				_ = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(p), 0o644)
			}
		}
		_ = os.Remove(cg)
	})
	if err := os.WriteFile(filepath.Join(cg, limitFile), []byte(fmt.Sprint(limit)), 0o644); err != nil {
		l.t.Fatalf("memory cgroup limit: %v", err)
	}
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(fmt.Sprint(pid)), 0o644); err != nil {
		l.t.Fatalf("memory cgroup: moving %d: %v", pid, err)
	}
	return func() int64 {
		b, err := os.ReadFile(filepath.Join(cg, peakFile))
		if err != nil {
			return 0
		}
		var n int64
		fmt.Sscan(strings.TrimSpace(string(b)), &n)
		return n
	}
}
