// Package bench holds the footprint benchmark of the daemon: wardprobe,
// Debian's blackbox_exporter scraped to do the same ICMP work, and fping -l
// as the near-limit reference, side by side in one run. It prints figures;
// it asserts nothing about speed.
package bench

import (
	"fmt"
	"net/http"
	"os"
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

// usage reads a process's CPU seconds (user+system) and peak RSS in bytes.
func usage(pid int) (cpu float64, peakRSS int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces) start after ")".
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	cpu = (utime + stime) / 100 // USER_HZ is 100 on Linux
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			peakRSS = kb * 1024
		}
	}
	return cpu, peakRSS, nil
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

type figure struct {
	name    string
	cpu     float64
	rss     int64
	packets string
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
	root, err := lab.ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	bin, err := lab.Build(root, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var (
		mu      sync.Mutex
		figures []figure
		wg      sync.WaitGroup
	)
	record := func(f figure) { mu.Lock(); figures = append(figures, f); mu.Unlock() }

	// wardprobe: 10 ICMP targets at 1 s, DNS and HTTP at 10 s.
	wg.Add(1)
	go func() {
		defer wg.Done()
		ns, _, addrs := peers(b, l)
		var cfg strings.Builder
		cfg.WriteString("probe: {name: bench}\ntargets:\n")
		for i, a := range addrs {
			fmt.Fprintf(&cfg, "  - {name: icmp%d, kind: icmp, address: %s, interval: 1s}\n", i, a)
		}
		cfg.WriteString("  - {name: dns, kind: dns, server: 10.77.0.2, query: epr.lab, interval: 10s}\n")
		cfg.WriteString("  - {name: web, kind: http, url: \"http://10.77.0.2:8080/\", interval: 10s}\n")
		d := wardprobeAtInfo(b, l, bin, ns, cfg.String())
		time.Sleep(runFor)
		cpu, rss, err := usage(d.Cmd.Process.Pid)
		if err != nil {
			b.Error(err)
			return
		}
		s, _ := d.Metrics()
		var sent float64
		for i := range addrs {
			sent += s.Value("wardprobe_icmp_packets_sent_total", "target", fmt.Sprintf("icmp%d", i))
		}
		record(figure{"wardprobe", cpu, rss, fmt.Sprintf("%.0f", sent)})
	}()

	// blackbox_exporter, scraped once a second per ICMP target, and for DNS and HTTP every 10 s.
	wg.Add(1)
	go func() {
		defer wg.Done()
		ns, _, addrs := peers(b, l)
		cfgPath := b.TempDir() + "/blackbox.yml"
		os.WriteFile(cfgPath, []byte(`modules:
  icmp: {prober: icmp, timeout: 2s, icmp: {preferred_ip_protocol: ip4}}
  dns: {prober: dns, timeout: 5s, dns: {query_name: epr.lab, preferred_ip_protocol: ip4}}
  http: {prober: http, timeout: 5s, http: {preferred_ip_protocol: ip4}}
`), 0o644)
		p := l.Start(ns, "prometheus-blackbox-exporter", "--config.file="+cfgPath, "--web.listen-address=127.0.0.1:9115")
		c := lab.Client(ns)
		get := func(q string) bool {
			resp, err := c.Get("http://127.0.0.1:9115/probe?" + q)
			if err != nil {
				return false
			}
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
				pw.Add(1)
				go func() { defer pw.Done(); get("module=icmp&target=" + a) }()
				probes++
			}
			if tick%10 == 0 {
				pw.Add(2)
				go func() { defer pw.Done(); get("module=dns&target=10.77.0.2") }()
				go func() { defer pw.Done(); get("module=http&target=http://10.77.0.2:8080/") }()
			}
			pw.Wait()
			time.Sleep(time.Until(start.Add(time.Duration(tick+1) * time.Second)))
		}
		cpu, rss, err := usage(p.Cmd.Process.Pid)
		if err != nil {
			b.Error(err)
			return
		}
		record(figure{"blackbox_exporter 0.23 (scraped)", cpu, rss, strconv.Itoa(probes)})
	}()

	// fping -l: the near-limit reference for the ICMP work alone.
	wg.Add(1)
	go func() {
		defer wg.Done()
		ns, _, addrs := peers(b, l)
		p := l.Start(ns, append([]string{"fping", "-l", "-p", "1000", "-q"}, addrs...)...)
		time.Sleep(runFor)
		cpu, rss, err := usage(p.Cmd.Process.Pid)
		if err != nil {
			b.Error(err)
			return
		}
		record(figure{"fping -l (ICMP only)", cpu, rss, fmt.Sprint(int(runFor.Seconds()) * icmpTargets)})
	}()
	// wardprobe with push on: the same probing, pushing every second to
	// Debian's Prometheus (remote-write receiver) in the peer namespace.
	var pf pushFigures
	wg.Add(1)
	go func() {
		defer wg.Done()
		pf = pushRun(b, l, bin)
	}()
	wg.Wait()

	fmt.Printf("\nFootprint over %s: %d ICMP targets at 1 s, DNS and HTTP at 10 s (fping: ICMP only)\n", runFor, icmpTargets)
	fmt.Printf("%-34s %10s %14s %14s\n", "tool", "CPU s", "peak RSS MiB", "ICMP probes")
	for _, f := range figures {
		fmt.Printf("%-34s %10.2f %14.1f %14s\n", f.name, f.cpu, float64(f.rss)/(1<<20), f.packets)
		if f.name == "wardprobe" {
			b.ReportMetric(f.cpu, "cpu-s")
			b.ReportMetric(float64(f.rss)/(1<<20), "peak-rss-MiB")
		}
	}
	if pf.samples == 0 {
		return
	}
	fmt.Printf("%-34s %10.2f %14.1f %14s\n", "wardprobe, push on (1 s)", pf.cpu, float64(pf.rss)/(1<<20), "")
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
	cpu, rss, err := usage(pid)
	if err != nil {
		b.Error(err)
		return pushFigures{}
	}
	f := pushFigures{cpu: cpu, rss: rss, blockBytes: ioWriteBytes(pid)}
	m, err := d.Metrics()
	if err != nil {
		b.Error(err)
		return f
	}
	f.samples = m.Value("wardprobe_push_samples_queued_total")
	f.queueWritten = m.Value("wardprobe_push_queue_disk_bytes_written_total")
	f.payload = m.Value("wardprobe_push_request_bytes_total")
	f.syncs = m.Value("wardprobe_push_queue_syncs_total")
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
