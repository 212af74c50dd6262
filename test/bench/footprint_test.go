// Package bench holds the footprint benchmark of the daemon: wardprobe
// (scraped every second and every 15 s), Debian's blackbox_exporter probed
// to do the same work, fping -l as the near-limit reference for the ICMP
// work, and wardprobe pushing to a Prometheus, side by side in one run. It
// prints figures; it asserts nothing about speed.
//
// Environment:
//   - BENCH_PROFILE_DIR=DIR writes pprof CPU and heap profiles of the
//     wardprobe scraped every second to DIR (through the hidden
//     --debug.cpu-profile and --debug.heap-profile flags of `run`);
//   - BENCH_BASELINE_BIN=PATH adds another wardprobe binary (an older build,
//     say) to the same run, scraped every second, for before/after figures.
package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

const (
	icmpTargets = 10
	runFor      = 60 * time.Second
)

// mem is a process's resident memory in bytes: its peak (VmHWM), and now
// the anonymous part (heap, stacks: the process's own) and the part
// mapped from files (its binary's code and read-only data, shared with the
// page cache).
type mem struct{ peak, anon, file int64 }

// usage reads a process's CPU seconds (user+system) and resident memory.
func usage(pid int) (cpu float64, m mem, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, m, err
	}
	// Fields after the command name (which may hold spaces) start after ")".
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	cpu = (utime + stime) / 100 // USER_HZ is 100 on Linux
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, m, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			m.peak = kb * 1024
		case "RssAnon:":
			m.anon = kb * 1024
		case "RssFile:":
			m.file = kb * 1024
		}
	}
	return cpu, m, nil
}

// peers builds a probe namespace and a peer namespace holding icmpTargets
// addresses (10.77.0.2 ...), a dnsmasq and an HTTP server.
func peers(b *testing.B, l *lab.Lab) (probeNS, peerNS string, addrs []string) {
	probeNS, peerNS = l.Netns("p"), l.Netns("q")
	_, peerIf := l.Veth(probeNS, "10.77.0.1/24", peerNS, "10.77.0.2/24")
	for i := range icmpTargets {
		a := fmt.Sprintf("10.77.0.%d", i+2)
		if i > 0 {
			l.MustRun(peerNS, "ip", "addr", "add", a+"/24", "dev", peerIf)
		}
		addrs = append(addrs, a)
	}
	l.DNS(peerNS, "10.77.0.2", "--address=/epr.lab/10.77.0.9")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })}
	go srv.Serve(l.Listen(peerNS, "10.77.0.2:8080"))
	b.Cleanup(func() { srv.Close() })
	return probeNS, peerNS, addrs
}

// scraper returns an HTTP client whose connections are made inside ns and
// kept alive between requests, as Prometheus keeps its scrape connections.
func scraper(ns string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var c net.Conn
			err := lab.InNetns(ns, func() (err error) {
				c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
		MaxIdleConnsPerHost: 16,
	}}
}

type figure struct {
	name    string
	cpu     float64
	mem     mem
	packets string
	scraped string
}

// wardprobeConfig is the bench's work: icmpTargets ICMP targets at 1 s, DNS
// and HTTP at 10 s.
func wardprobeConfig(addrs []string) string {
	var cfg strings.Builder
	cfg.WriteString("probe: {name: bench}\ntargets:\n")
	for i, a := range addrs {
		fmt.Fprintf(&cfg, "  - {name: icmp%d, kind: icmp, address: %s, interval: 1s}\n", i, a)
	}
	cfg.WriteString("  - {name: dns, kind: dns, server: 10.77.0.2, query: epr.lab, interval: 10s}\n")
	cfg.WriteString("  - {name: web, kind: http, url: \"http://10.77.0.2:8080/\", interval: 10s}\n")
	return cfg.String()
}

// runWardprobe runs bin for runFor with /metrics scraped every scrape, and
// returns its figure. With profileDir set it writes CPU and heap profiles there.
func runWardprobe(b *testing.B, l *lab.Lab, name, bin string, scrape time.Duration, profileDir string) (figure, error) {
	ns, _, addrs := peers(b, l)
	cfgPath := filepath.Join(b.TempDir(), "wardprobe.yml")
	if err := os.WriteFile(cfgPath, []byte(wardprobeConfig(addrs)), 0o600); err != nil {
		return figure{}, err
	}
	args := []string{bin, "run", "--config", cfgPath, "--web.listen-address", "127.0.0.1:9810", "--log.level", "info"}
	if profileDir != "" {
		args = append(args, "--debug.cpu-profile", filepath.Join(profileDir, "cpu.pprof"),
			"--debug.heap-profile", filepath.Join(profileDir, "heap.pprof"))
	}
	d := l.WardprobeArgs(ns, "http://127.0.0.1:9810", args...)
	c := scraper(ns)
	start := time.Now()
	scrapes := 0
	for tick := 1; ; tick++ {
		next := start.Add(time.Duration(tick) * scrape)
		if next.After(start.Add(runFor)) {
			time.Sleep(time.Until(start.Add(runFor)))
			break
		}
		time.Sleep(time.Until(next))
		if resp, err := c.Get(d.URL + "/metrics"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			scrapes++
		}
	}
	cpu, m, err := usage(d.Cmd.Process.Pid)
	if err != nil {
		return figure{}, err
	}
	s, err := d.Metrics()
	if err != nil {
		return figure{}, err
	}
	var sent float64
	for i := range addrs {
		sent += s.Value("wardprobe_icmp_packets_sent_total", "target", fmt.Sprintf("icmp%d", i))
	}
	d.Stop() // writes the profiles
	return figure{name, cpu, m, fmt.Sprintf("%.0f", sent), fmt.Sprintf("%d × /metrics", scrapes)}, nil
}

// runBlackbox runs blackbox_exporter probed once a second per ICMP target,
// and every 10 s for DNS and HTTP: each probe is a scrape of /probe, as a
// Prometheus would make to get one ICMP sample a second per target.
func runBlackbox(b *testing.B, l *lab.Lab) (figure, error) {
	ns, _, addrs := peers(b, l)
	cfgPath := b.TempDir() + "/blackbox.yml"
	if err := os.WriteFile(cfgPath, []byte(`modules:
  icmp: {prober: icmp, timeout: 2s, icmp: {preferred_ip_protocol: ip4}}
  dns: {prober: dns, timeout: 5s, dns: {query_name: epr.lab, preferred_ip_protocol: ip4}}
  http: {prober: http, timeout: 5s, http: {preferred_ip_protocol: ip4}}
`), 0o644); err != nil {
		return figure{}, err
	}
	p := l.Start(ns, "prometheus-blackbox-exporter", "--config.file="+cfgPath, "--web.listen-address=127.0.0.1:9115")
	c := scraper(ns)
	get := func(q string) bool {
		resp, err := c.Get("http://127.0.0.1:9115/probe?" + q)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	for i := 0; !get("module=icmp&target=10.77.0.2") && i < 100; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	var probes int
	start := time.Now()
	for tick := 0; time.Since(start) < runFor; tick++ {
		var pw sync.WaitGroup
		for _, a := range addrs {
			pw.Go(func() { get("module=icmp&target=" + a) })
			probes++
		}
		if tick%10 == 0 {
			pw.Go(func() { get("module=dns&target=10.77.0.2") })
			pw.Go(func() { get("module=http&target=http://10.77.0.2:8080/") })
		}
		pw.Wait()
		time.Sleep(time.Until(start.Add(time.Duration(tick+1) * time.Second)))
	}
	cpu, m, err := usage(p.Cmd.Process.Pid)
	if err != nil {
		return figure{}, err
	}
	return figure{"blackbox_exporter (probed)", cpu, m, strconv.Itoa(probes), fmt.Sprintf("%d × /probe", probes+2*int(runFor/(10*time.Second)))}, nil
}

// runFping runs fping -l, the near-limit reference for the ICMP work alone.
func runFping(b *testing.B, l *lab.Lab) (figure, error) {
	ns, _, addrs := peers(b, l)
	p := l.Start(ns, append([]string{"fping", "-l", "-p", "1000", "-q"}, addrs...)...)
	time.Sleep(runFor)
	cpu, m, err := usage(p.Cmd.Process.Pid)
	if err != nil {
		return figure{}, err
	}
	return figure{"fping -l (ICMP only)", cpu, m, fmt.Sprint(int(runFor.Seconds()) * icmpTargets), "-"}, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// wardprobeAtInfo starts wardprobe in ns on configYAML, logging at info
// level as a deployed probe does.
func wardprobeAtInfo(b *testing.B, l *lab.Lab, bin, ns, configYAML string) *lab.Daemon {
	path := b.TempDir() + "/wardprobe.yml"
	if err := os.WriteFile(path, []byte(configYAML), 0o600); err != nil {
		b.Fatal(err)
	}
	return l.WardprobeArgs(ns, "http://127.0.0.1:9810",
		bin, "run", "--config", path, "--web.listen-address", "127.0.0.1:9810", "--log.level", "info")
}

// pushFigures is what the push-on run measured.
type pushFigures struct {
	cpu                      float64
	rss                      int64
	series, samples          float64
	queueWritten, blockBytes float64 // queue file bytes written; block-layer write_bytes of the process
	payload, wire            float64 // compressed request bytes; bytes on the wire both ways (TCP/IP included)
	syncs, intervals         float64
}

// ioWriteBytes reads write_bytes (bytes the process caused to reach the
// block layer) from /proc/PID/io.
func ioWriteBytes(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "write_bytes: "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

func BenchmarkFootprint(b *testing.B) {
	l := lab.New(b)
	lab.Tool(b, "fping")
	lab.Tool(b, "prometheus-blackbox-exporter")
	root, err := lab.ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	bin, err := lab.Build(root, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	profileDir := os.Getenv("BENCH_PROFILE_DIR")
	if profileDir != "" {
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	runs := []func() (figure, error){
		func() (figure, error) {
			return runWardprobe(b, l, "wardprobe, scraped every 1 s", bin, time.Second, profileDir)
		},
		func() (figure, error) {
			return runWardprobe(b, l, "wardprobe, scraped every 15 s", bin, 15*time.Second, "")
		},
		func() (figure, error) { return runBlackbox(b, l) },
		func() (figure, error) { return runFping(b, l) },
	}
	if base := os.Getenv("BENCH_BASELINE_BIN"); base != "" {
		runs = append(runs, func() (figure, error) {
			return runWardprobe(b, l, "baseline "+filepath.Base(base)+", scraped 1 s", base, time.Second, "")
		})
	}
	figures := make([]figure, len(runs))
	loadBefore := loadAvg()
	var wg sync.WaitGroup
	// wardprobe with push on: the same probing, pushing every second to
	// Debian's Prometheus (remote-write receiver) in the peer namespace.
	var pf pushFigures
	wg.Go(func() { pf = pushRun(b, l, bin) })
	for i, r := range runs {
		wg.Go(func() {
			f, err := r()
			if err != nil {
				b.Error(err)
			}
			figures[i] = f
		})
	}
	wg.Wait()

	fmt.Printf("\nFootprint over %s, all in one run: %d ICMP targets at 1 s, DNS and HTTP at 10 s (fping: ICMP only)\n", runFor, icmpTargets)
	fmt.Printf("load average before: %s, after: %s (2 cores shared: CPU figures are noisy; compare ratios of one run)\n", loadBefore, loadAvg())
	fmt.Printf("%-36s %7s %10s %9s %16s %8s %15s\n", "tool", "CPU s", "×blackbox", "peak RSS", "RSS anon+file", "ICMP", "scrapes")
	bb := figures[2].cpu
	for _, f := range figures {
		ratio := "-"
		if bb > 0 {
			ratio = fmt.Sprintf("%.2f", f.cpu/bb)
		}
		fmt.Printf("%-36s %7.2f %10s %9s %16s %8s %15s\n", f.name, f.cpu, ratio, mib(f.mem.peak),
			mib(f.mem.anon)+"+"+mib(f.mem.file), f.packets, f.scraped)
	}
	b.ReportMetric(figures[0].cpu, "cpu-s")
	b.ReportMetric(float64(figures[0].mem.peak)/(1<<20), "peak-rss-MiB")
	if profileDir != "" {
		fmt.Printf("profiles of the wardprobe scraped every 1 s: %s/cpu.pprof, %s/heap.pprof\n", profileDir, profileDir)
	}
	if pf.samples == 0 {
		return
	}
	fmt.Printf("%-36s %7.2f %10s %9s\n", "wardprobe, push on (1 s), no scrapes", pf.cpu, fmt.Sprintf("%.2f", pf.cpu/bb), mib(pf.rss))
	perSample := func(v float64) float64 { return v / pf.samples }
	fmt.Printf("\nPush over %s: %.0f series, %.0f samples, %.0f fsyncs in %.0f intervals\n", runFor, pf.series, pf.samples, pf.syncs, pf.intervals)
	fmt.Printf("%-44s %12s %14s %18s\n", "bytes", "total", "per sample", "per hour at 15 s")
	hour := pf.series * 240 // samples an hour at the default 15 s interval
	for _, r := range []struct {
		name string
		v    float64
	}{
		{"queue files written (wardprobe_push_queue_*)", pf.queueWritten},
		{"block layer (/proc/PID/io write_bytes)", pf.blockBytes},
		{"request payload (snappy protobuf)", pf.payload},
		{"on the wire, both ways (TCP/IP, HTTP)", pf.wire},
	} {
		fmt.Printf("%-44s %12.0f %14.2f %15.0f KiB\n", r.name, r.v, perSample(r.v), perSample(r.v)*hour/1024)
	}
	b.ReportMetric(float64(pf.rss)/(1<<20), "push-peak-rss-MiB")
	b.ReportMetric(perSample(pf.queueWritten), "queue-bytes/sample")
	b.ReportMetric(perSample(pf.wire), "wire-bytes/sample")
}

// pushRun runs wardprobe with the bench's probing and push on against a
// real Prometheus, and measures it.
func pushRun(b *testing.B, l *lab.Lab, bin string) pushFigures {
	ns, peerNS, addrs := peers(b, l)
	prom := lab.Tool(b, "prometheus")
	dir := b.TempDir()
	os.WriteFile(dir+"/prometheus.yml", []byte("storage:\n  tsdb:\n    out_of_order_time_window: 1h\n"), 0o644)
	p := l.Start(peerNS, prom, "--config.file="+dir+"/prometheus.yml", "--storage.tsdb.path="+dir+"/data",
		"--web.listen-address=10.77.0.2:9090", "--web.enable-remote-write-receiver", "--log.level=warn")
	if err := lab.WaitOK(lab.Client(peerNS), "http://10.77.0.2:9090/-/ready", p, 60*time.Second); err != nil {
		b.Error(err)
		return pushFigures{}
	}
	// Count the push traffic's bytes (IP packets, both ways) in the probe's namespace.
	nft := `table inet wpbench {
  chain out { type filter hook output priority 0; tcp dport 9090 counter; }
  chain in { type filter hook input priority 0; tcp sport 9090 counter; }
}
`
	os.WriteFile(dir+"/count.nft", []byte(nft), 0o644)
	l.MustRun(ns, "nft", "-f", dir+"/count.nft")
	var cfg strings.Builder
	cfg.WriteString("probe: {name: bench-push}\nlocation: {site: Royal Example Hospital, building: Block B, floor: \"2\", ward: Ward 7}\ntargets:\n")
	for i, a := range addrs {
		fmt.Fprintf(&cfg, "  - {name: icmp%d, kind: icmp, address: %s, interval: 1s}\n", i, a)
	}
	cfg.WriteString("  - {name: dns, kind: dns, server: 10.77.0.2, query: epr.lab, interval: 10s}\n")
	cfg.WriteString("  - {name: web, kind: http, url: \"http://10.77.0.2:8080/\", interval: 10s}\n")
	fmt.Fprintf(&cfg, "push: {url: \"http://10.77.0.2:9090/api/v1/write\", interval: 1s, queue_dir: %s}\n", b.TempDir())
	d := wardprobeAtInfo(b, l, bin, ns, cfg.String())
	time.Sleep(runFor)
	pid := d.Cmd.Process.Pid
	cpu, m, err := usage(pid)
	if err != nil {
		b.Error(err)
		return pushFigures{}
	}
	f := pushFigures{cpu: cpu, rss: m.peak, blockBytes: ioWriteBytes(pid)}
	ms, err := d.Metrics()
	if err != nil {
		b.Error(err)
		return f
	}
	f.samples = ms.Value("wardprobe_push_samples_queued_total")
	f.queueWritten = ms.Value("wardprobe_push_queue_disk_bytes_written_total")
	f.payload = ms.Value("wardprobe_push_request_bytes_total")
	f.syncs = ms.Value("wardprobe_push_queue_syncs_total")
	f.intervals = f.syncs
	if f.intervals > 0 {
		f.series = f.samples / f.intervals
	}
	out := l.MustRun(ns, "nft", "list", "table", "inet", "wpbench")
	for rest := out; ; {
		i := strings.Index(rest, "bytes ")
		if i < 0 {
			break
		}
		v, _ := strconv.ParseFloat(strings.Fields(rest[i+6:])[0], 64)
		f.wire += v
		rest = rest[i+6:]
	}
	return f
}
