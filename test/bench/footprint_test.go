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
func peers(b *testing.B, l *lab.Lab) (probeNS string, addrs []string) {
	probeNS, peerNS := l.Netns("p"), l.Netns("q")
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
	return probeNS, addrs
}

type figure struct {
	name    string
	cpu     float64
	rss     int64
	packets string
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
		ns, addrs := peers(b, l)
		var cfg strings.Builder
		cfg.WriteString("probe: {name: bench}\ntargets:\n")
		for i, a := range addrs {
			fmt.Fprintf(&cfg, "  - {name: icmp%d, kind: icmp, address: %s, interval: 1s}\n", i, a)
		}
		cfg.WriteString("  - {name: dns, kind: dns, server: 10.77.0.2, query: epr.lab, interval: 10s}\n")
		cfg.WriteString("  - {name: web, kind: http, url: \"http://10.77.0.2:8080/\", interval: 10s}\n")
		d := l.Wardprobe(bin, ns, cfg.String(), "--log.level", "info")
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
		ns, addrs := peers(b, l)
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
		ns, addrs := peers(b, l)
		p := l.Start(ns, append([]string{"fping", "-l", "-p", "1000", "-q"}, addrs...)...)
		time.Sleep(runFor)
		cpu, rss, err := usage(p.Cmd.Process.Pid)
		if err != nil {
			b.Error(err)
			return
		}
		record(figure{"fping -l (ICMP only)", cpu, rss, fmt.Sprint(int(runFor.Seconds()) * icmpTargets)})
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
}
