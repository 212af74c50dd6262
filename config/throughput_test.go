package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/config"
)

func TestThroughputConfig(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		want  []string // errors; none: valid
		check func(t *testing.T, tp *config.Throughput)
	}{
		{"onprem defaults", "throughput:\n  url: http://10.20.0.9:8080\n", nil, func(t *testing.T, tp *config.Throughput) {
			if tp.Mode != "onprem" || tp.Interval.D() != 30*time.Minute || tp.Timeout.D() != 20*time.Second ||
				tp.MaxBytes != 100<<20 || tp.DailyBudget != 2<<30 {
				t.Errorf("defaults: %+v", tp)
			}
		}},
		{"ookla with ids", "throughput:\n  mode: ookla\n  server_ids: [\"1234\", \"5678\"]\n  interval: 1h\n  max_bytes: 50MiB\n  daily_budget: 1GiB\n", nil,
			func(t *testing.T, tp *config.Throughput) {
				if len(tp.ServerIDs) != 2 || tp.MaxBytes != 50<<20 || tp.Interval.D() != time.Hour {
					t.Errorf("%+v", tp)
				}
			}},
		{"ookla nearest", "throughput:\n  mode: ookla\n", nil, nil},
		{"bad server id", "throughput:\n  mode: ookla\n  server_ids: [\"12a\"]\n",
			[]string{`f.yml:3: throughput.server_ids[0]: "12a" is not a speedtest.net server id (a number)`}, nil},
		{"server ids in onprem", "throughput:\n  url: http://t:8080\n  server_ids: [\"1\"]\n",
			[]string{`f.yml:3: throughput.server_ids: are only used in ookla mode`}, nil},
		{"url in ookla", "throughput:\n  mode: ookla\n  url: http://t:8080\n",
			[]string{`f.yml:3: throughput.url: is not used in ookla mode (use server_ids)`}, nil},
		{"bad mode", "throughput:\n  mode: iperf\n  url: http://t:8080\n",
			[]string{`f.yml:2: throughput.mode: "iperf" is not onprem or ookla`}, nil},
		{"not http", "throughput:\n  url: ftp://t/\n",
			[]string{`f.yml:2: throughput.url: "ftp://t/" is not an http or https URL`}, nil},
		{"interval too short", "throughput:\n  url: http://t:8080\n  interval: 30s\n  timeout: 10s\n",
			[]string{`f.yml:3: throughput.interval: 30s is shorter than the minimum 1m`}, nil},
		{"timeout too short", "throughput:\n  url: http://t:8080\n  timeout: 2s\n",
			[]string{`f.yml:3: throughput.timeout: 2s must be at least 5s and no longer than the interval`}, nil},
		{"max bytes too small", "throughput:\n  url: http://t:8080\n  max_bytes: 100KiB\n",
			[]string{`f.yml:3: throughput.max_bytes: must be at least 1MiB to measure anything`}, nil},
		{"budget under max bytes", "throughput:\n  url: http://t:8080\n  max_bytes: 200MiB\n  daily_budget: 100MiB\n",
			[]string{`f.yml:4: throughput.daily_budget: is smaller than max_bytes, so no test could run`}, nil},
		{"typo", "throughput:\n  url: http://t:8080\n  intervall: 1h\n",
			[]string{`f.yml:3: throughput.intervall: unknown key (did you mean "interval"?)`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("f.yml", []byte(tc.yaml))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if tc.check != nil {
					tc.check(t, c.Throughput)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tc.want)
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}
