// Package sizing measures what one probe costs a central store: the series
// a realistic ward config exposes, counted from the real wardprobe's
// /metrics in a namespace lab. `make bench` prints the figures that
// docs/scale-out.md's sizing table is computed from.
package sizing

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

var wardprobeBin string // built by TestMain

// TestMain builds wardprobe only when benchmarks run: the package has no
// tests, and `make test` should not pay for the build.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	os.Exit(lab.RunTests(m, &wardprobeBin, nil))
}

// wardConfig is a realistic ward probe: the gateway and a core address
// pinged every second, the two DNS servers, the EPR and the e-observations
// front-ends over HTTPS-like HTTP, PACS over TCP, and a throughput test
// against an on-premises target — all lab peers.
const wardConfig = `probe: {name: rex-blockb-f2-ward7-1}
location: {site: Royal Example Hospital, building: Block B, floor: "2", ward: Ward 7, spot: "Bay 3", x: 0.42, y: 0.63}
standard: voice
targets:
  - {name: gateway, kind: icmp, address: gateway, interval: 1s}
  - {name: core, kind: icmp, address: 10.93.0.2, interval: 1s}
  - {name: dns-primary, kind: dns, server: "10.93.0.2:53", query: epr.lab, interval: 2s}
  - {name: dns-secondary, kind: dns, server: "10.93.0.2:53", query: eobs.lab, interval: 2s}
  - {name: epr, kind: http, url: "http://epr.lab:8080/health", interval: 2s}
  - {name: eobs, kind: http, url: "http://eobs.lab:8080/health", interval: 2s}
  - {name: pacs, kind: tcp, address: "10.93.0.2:8080", interval: 2s}
throughput:
  url: http://10.93.0.2:8081
  interval: 1m
  timeout: 10s
  max_bytes: 4MiB
`

// BenchmarkSeriesPerProbe runs the real wardprobe with wardConfig until
// every target and a throughput test have reported, then counts the series
// of /metrics by metric family. Wi-Fi needs a Wi-Fi stack this lab does
// not have: its series are counted from the exporter's golden file (a
// connected link as the real exporter renders it) and scaled to a ward
// hearing 8 BSSs of the clinical SSID.
func BenchmarkSeriesPerProbe(b *testing.B) {
	l := lab.New(b)
	probe, peer := l.Netns("probe"), l.Netns("peer")
	l.Veth(probe, "10.93.0.1/24", peer, "10.93.0.2/24")
	l.DefaultRoute(probe, "10.93.0.2")
	l.Resolver(probe, "10.93.0.2")
	l.DNS(peer, "10.93.0.2", "--address=/epr.lab/10.93.0.2", "--address=/eobs.lab/10.93.0.2")
	ln := l.Listen(peer, "10.93.0.2:8080")
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })) //nolint:errcheck // ends with the listener
	l.Start(peer, wardprobeBin, "target", "--listen=10.93.0.2:8081")
	d := l.Wardprobe(wardprobeBin, probe, wardConfig)
	s := d.WaitFor(b, 90*time.Second, "every target and a throughput test", func(s lab.Samples) bool {
		for _, tg := range []string{"gateway", "core", "dns-primary", "dns-secondary", "epr", "eobs", "pacs"} {
			if s.Value("wardprobe_target_up", "target", tg) != 1 {
				return false
			}
		}
		return s.Value("wardprobe_throughput_tests_total") >= 1
	})
	families := map[string]int{}
	for _, x := range s {
		families[family(x.Name)]++
	}
	total := len(s)
	// Wi-Fi: the golden file's wifi series minus those this lab already has.
	golden, err := os.ReadFile("../../exporters/testdata/metrics.golden")
	if err != nil {
		b.Fatal(err)
	}
	gs, err := lab.ParseSamples(string(golden))
	if err != nil {
		b.Fatal(err)
	}
	wifiGolden := 0
	for _, x := range gs {
		if strings.HasPrefix(x.Name, "wardprobe_wifi_neighbor_") {
			continue // scaled below
		}
		if strings.HasPrefix(x.Name, "wardprobe_wifi_") {
			wifiGolden++
		}
	}
	wifiHere := families["wardprobe_wifi"]
	const wardBSSs = 8
	wifiExtra := wifiGolden - wifiHere + 3*wardBSSs // signal, stations, channel utilisation per BSS
	fmt.Printf("series per probe (realistic ward config, measured from /metrics in a namespace lab):\n")
	names := make([]string, 0, len(families))
	for f := range families {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		fmt.Printf("  %-28s %4d\n", f, families[f])
	}
	fmt.Printf("  %-28s %4d\n", "measured total", total)
	fmt.Printf("  + Wi-Fi link (golden file: %d link series, here %d) and %d BSSs x 3 neighbour series: %d\n", wifiGolden, wifiHere, wardBSSs, wifiExtra)
	fmt.Printf("  + Prometheus' own per target (up, scrape_*): 5\n")
	fmt.Printf("  = series per probe: %d\n", total+wifiExtra+5)
	if total < 100 {
		b.Errorf("only %d series: the lab did not exercise the config", total)
	}
}

// family groups a series name by its kind ("wardprobe_icmp", ...).
func family(name string) string {
	parts := strings.SplitN(name, "_", 3)
	if len(parts) < 3 {
		return name
	}
	return parts[0] + "_" + parts[1]
}

// BenchmarkPrometheusMemory measures the memory Debian's Prometheus (2.42)
// needs per active series: it scrapes K synthetic probes (the exporter's
// golden /metrics, one probe label per target, values moving every scrape)
// every 5 s for a minute, for K = 100 and K = 1000, in a network namespace;
// the slope of its resident memory against its head series is the figure.
// A minute of samples is a lower bound on a long-running head's chunk
// memory (docs/scale-out.md says how it is used).
func BenchmarkPrometheusMemory(b *testing.B) {
	prometheus := lab.Tool(b, "prometheus")
	golden, err := os.ReadFile("../../exporters/testdata/metrics.golden")
	if err != nil {
		b.Fatal(err)
	}
	type point struct{ series, rss float64 }
	var points []point
	for _, k := range []int{100, 1000} {
		l := lab.New(b)
		ns := l.Netns("prom")
		ln := l.Listen(ns, "127.0.0.1:9810")
		var mu sync.Mutex
		round := map[string]int{}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.Query().Get("p")
			mu.Lock()
			round[p]++
			n := round[p]
			mu.Unlock()
			text := strings.ReplaceAll(string(golden), `probe="rex-blockb-f2-ward7-1"`, `probe="probe-`+p+`"`)
			// Move every value a little so the TSDB stores real samples.
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			for _, line := range strings.Split(text, "\n") {
				if line == "" || line[0] == '#' {
					fmt.Fprintln(w, line)
					continue
				}
				i := strings.LastIndexByte(line, ' ')
				fmt.Fprintf(w, "%s %d\n", line[:i], n*7+len(line))
			}
		})}
		go srv.Serve(ln) //nolint:errcheck // ends with the listener
		dir := b.TempDir()
		var sd strings.Builder
		sd.WriteString("[")
		for i := 0; i < k; i++ {
			if i > 0 {
				sd.WriteString(",")
			}
			fmt.Fprintf(&sd, `{"targets":["127.0.0.1:9810"],"labels":{"__param_p":"%d","probe":"probe-%d"}}`, i, i)
		}
		sd.WriteString("]")
		if err := os.WriteFile(dir+"/sd.json", []byte(sd.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		cfg := "global: {scrape_interval: 5s}\nscrape_configs:\n  - job_name: wardprobe\n    honor_labels: true\n    file_sd_configs: [{files: [sd.json]}]\n    relabel_configs: [{source_labels: [probe], target_label: instance}]\n"
		if err := os.WriteFile(dir+"/prometheus.yml", []byte(cfg), 0o644); err != nil {
			b.Fatal(err)
		}
		prom := l.Start(ns, prometheus, "--config.file="+dir+"/prometheus.yml", "--storage.tsdb.path="+dir+"/data", "--web.listen-address=127.0.0.1:9090")
		c := lab.Client(ns)
		if err := lab.WaitOK(c, "http://127.0.0.1:9090/-/ready", prom, 30*time.Second); err != nil {
			b.Fatal(err)
		}
		time.Sleep(60 * time.Second)
		series := selfMetric(b, c, "prometheus_tsdb_head_series")
		rss := selfMetric(b, c, "process_resident_memory_bytes")
		fmt.Printf("prometheus 2.42, %5d synthetic probes: head series %8.0f, RSS %6.1f MiB\n", k, series, rss/(1<<20))
		points = append(points, point{series, rss})
		prom.Stop()
		srv.Close()
	}
	slope := (points[1].rss - points[0].rss) / (points[1].series - points[0].series)
	fmt.Printf("prometheus 2.42 memory per active series (slope between the two runs): %.0f bytes\n", slope)
}

// selfMetric reads one of Prometheus' own unlabelled metrics from its /metrics.
func selfMetric(b *testing.B, c *http.Client, name string) float64 {
	b.Helper()
	resp, err := c.Get("http://127.0.0.1:9090/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	b.Fatalf("no %s in Prometheus' /metrics", name)
	return 0
}
