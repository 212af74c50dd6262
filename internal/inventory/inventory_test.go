package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/dashboards"
	"github.com/wardprobe/wardprobe/probe/kinds"
)

const example = "../../deploy/inventory/example.yml"

func TestExampleInventory(t *testing.T) {
	est, err := Load(example)
	if err != nil {
		t.Fatalf("the example inventory is rejected:\n%v", err)
	}
	want := map[string]struct {
		site, building, floor, ward, standard, ssid, addr string
	}{
		"rex-blockb-f2-ward7-1": {"Royal Example Hospital", "Block B", "2", "Ward 7", "voice", "CLINICAL", "10.50.2.17"},
		"rex-blockb-f2-ward7-2": {"Royal Example Hospital", "Block B", "2", "Ward 7", "voice", "CLINICAL", "10.50.2.18"},
		"rex-blockb-f2-ward8-1": {"Royal Example Hospital", "Block B", "2", "Ward 8", "data", "CLINICAL", "10.50.2.19"},
		"ech-main-fg-miu-1":     {"Example Community Hospital", "Main", "G", "Minor Injuries", "voice", "ECH-CLINICAL", "10.60.0.21"},
	}
	if len(est.Probes) != len(want) {
		t.Fatalf("%d probes, want %d", len(est.Probes), len(want))
	}
	for _, p := range est.Probes {
		w, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected probe %s", p.Name)
			continue
		}
		c, err := kinds.Parse(p.Name, p.Config)
		if err != nil {
			t.Fatalf("%s: generated config rejected: %v\n%s", p.Name, err, p.Config)
		}
		got := [7]string{c.Location.Site, c.Location.Building, c.Location.Floor, c.Location.Ward, c.Standard, strings.Join(c.WiFi.SSIDs, ","), p.ManagementAddress}
		if got != [7]string{w.site, w.building, w.floor, w.ward, w.standard, w.ssid, w.addr} || c.Probe.Name != p.Name {
			t.Errorf("%s: generated %v, want %+v", p.Name, got, w)
		}
		if len(c.Targets) != 4 || c.Throughput == nil {
			t.Errorf("%s: the estate's targets and throughput were not merged in: %d targets", p.Name, len(c.Targets))
		}
		if strings.Join(p.Files, ",") != "/etc/wardprobe/trust-ca.pem" {
			t.Errorf("%s: files %v", p.Name, p.Files)
		}
	}
}

// TestLoadNotRegular: a FIFO (no writer) or a directory is refused at once.
func TestLoadNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "estate.yml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, dir} {
		done := make(chan error, 1)
		go func() { _, err := Load(p); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %v; want not a regular file", p, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Load hangs", p)
		}
	}
}

func TestWriteOutputs(t *testing.T) {
	est, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "fleet")
	notes, err := est.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "ech-main-fg-miu-1") {
		t.Errorf("notes = %q, want one about the probe without a position", notes)
	}
	// file_sd: every probe once, address:port and the location labels.
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "file_sd", "royal-example-hospital.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 3 || groups[0].Targets[0] != "10.50.2.17:9810" ||
		fmt.Sprint(groups[0].Labels) != "map[building:Block B floor:2 probe:rex-blockb-f2-ward7-1 site:Royal Example Hospital ward:Ward 7]" {
		t.Errorf("file_sd: %s", b)
	}
	// Floor plans: the dashboards' own loader accepts them, with the image copied.
	fp, err := dashboards.LoadInventory(filepath.Join(dir, "floorplans.yml"))
	if err != nil {
		t.Fatalf("dashboards reject the generated floor plans: %v", err)
	}
	if len(fp.Floors) != 1 || len(fp.Floors[0].Probes) != 3 || fp.Floors[0].Image != "/public/img/wardprobe/royal-example-hospital-block-b-2.svg" {
		t.Errorf("floor plans: %+v", fp)
	}
	if _, err := os.Stat(filepath.Join(dir, "floorplans", "royal-example-hospital-block-b-2.svg")); err != nil {
		t.Error(err)
	}
	def, err := os.ReadFile(filepath.Join(dir, "probes", "rex-blockb-f2-ward8-1", "default"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(def), "\nWARDPROBE_LISTEN_ADDRESS=10.50.2.19:9810\n") {
		t.Errorf("default file:\n%s", def)
	}
	// A second run replaces the generated files: a probe removed from the
	// inventory disappears; files of the engineer's own stay.
	own := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(own, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	est.Probes = est.Probes[:3]
	est.Floors[1].Probes = nil
	if _, err := est.Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "probes", "ech-main-fg-miu-1")); err == nil {
		t.Error("a removed probe's config survived a second run")
	}
	if _, err := os.Stat(own); err != nil {
		t.Error("the second run removed a file it did not write")
	}
	// A directory it did not write is refused.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := est.Write(other); err == nil || !strings.Contains(err.Error(), "not written by wardprobe inventory") {
		t.Errorf("writing into a foreign directory: %v", err)
	}
}

// badInventory has one of each kind of problem; every one must be reported
// with its line.
const badInventory = `standard: voice
listen_port: 70000
run_flags: [--web.listen-address=0.0.0.0:9810, verbose]
config:
  wifi: {interface: wlan0, ssids: [CLINICAL]}
  targets:
    - {name: gateway, kind: icmp, address: gateway, intervall: 1s}
  probe: {name: nope}
sites:
  - name: Royal Example Hospital
    buildngs: []
  - name: Example Community Hospital
    buildings:
      - name: Main
        floors:
          - name: G
            floor_plan: missing.png
            wards:
              - name: Minor Injuries
                standard: gold
                probes:
                  - {name: ech-1, management_address: 10.60.0.21, x: 1.5, y: 0.2}
                  - {name: ech-1, management_address: 10.60.0.21}
                  - {name: "bad name", management_address: "10.60.0.22:9810", x: 0.5}
              - name: Minor Injuries
                probes: []
`

func TestBadInventoryEveryError(t *testing.T) {
	w := "sites[1].buildings[0].floors[0].wards[0]"
	want := []string{
		`bad.yml:2: listen_port: 70000 is not a port number`,
		`bad.yml:3: run_flags[0]: --web.listen-address is set by the inventory (the config path and management_address)`,
		`bad.yml:3: run_flags[1]: "verbose" is not a flag (--name=value)`,
		`bad.yml:7: config.targets[0].intervall: unknown key (did you mean "interval"?) (config key targets[0].intervall of probe ech-1, and 2 more)`,
		`bad.yml:8: config.probe: is set by the inventory: the probe's name comes from probes[].name`,
		`bad.yml:10: sites[0].buildings: is required (at least one building)`,
		`bad.yml:11: sites[0].buildngs: unknown key (did you mean "buildings"?)`,
		`bad.yml:17: sites[1].buildings[0].floors[0].floor_plan: stat DIR/missing.png: no such file or directory`,
		`bad.yml:20: ` + w + `.standard: unknown standard "gold" (known: nhs, voice, data) (config key standard of probe ech-1, and 2 more)`,
		`bad.yml:22: ` + w + `.probes[0].x: 1.5 is outside 0..1 (0,0 is the floor plan's top left corner)`,
		`bad.yml:23: ` + w + `.probes[1].name: duplicate probe name "ech-1" (first at ` + w + `.probes[0])`,
		`bad.yml:23: ` + w + `.probes[1].management_address: 10.60.0.21 is already the address of the probe at ` + w + `.probes[0]`,
		`bad.yml:24: ` + w + `.probes[2].name: "bad name": use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit (it names files and hosts)`,
		`bad.yml:24: ` + w + `.probes[2].management_address: "10.60.0.22:9810" is not an IP address or host name (no port: listen_port sets it)`,
		`bad.yml:24: ` + w + `.probes[2]: give both x and y, or neither`,
		`bad.yml:25: sites[1].buildings[0].floors[0].wards[1].name: duplicate ward "Minor Injuries" (first at ` + w + `.name)`,
		`bad.yml:26: sites[1].buildings[0].floors[0].wards[1].probes: is required (at least one probe)`,
	}
	dir := t.TempDir()
	_, err := Parse("bad.yml", dir, []byte(badInventory))
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want config.Errors, got %v", err)
	}
	got := strings.ReplaceAll(errs.Error(), dir, "DIR")
	if got != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\n\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestParseErrors(t *testing.T) {
	probe := "sites: [{name: S, buildings: [{name: B, floors: [{name: F, wards: [{name: W, probes: [{name: p1, management_address: 10.1.1.1}]}]}]}]}]\n"
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'i'; i++ {
		bomb += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	var many strings.Builder
	many.WriteString("sites:\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&many, "  - {nam: s%d}\n", i)
	}
	cases := []struct {
		name, yaml string
		want       []string // substrings, in order
	}{
		{"empty", "", []string{"x.yml:1: (top): inventory is empty"}},
		{"syntax", "sites: [\n", []string{"x.yml:1: (top): invalid YAML:"}},
		{"second document", probe + "---\nsites: []\n", []string{"x.yml:2: (top): a second YAML document"}},
		{"not a mapping", "- a\n", []string{"x.yml:1: (top): expected a mapping, got a list"}},
		{"no sites", "standard: voice\n", []string{"x.yml:1: sites: is required"}},
		{"fragment not a mapping", "config: [a]\n" + probe, []string{"x.yml:1: config: expected a mapping of wardprobe config keys, got a list"}},
		{"bad config value traced to the probe's fragment", strings.Replace(probe, "10.1.1.1}", "10.1.1.1, config: {wifi: {poll_interval: 1ms}}}", 1),
			[]string{"x.yml:1: sites[0].buildings[0].floors[0].wards[0].probes[0].config.wifi.poll_interval: 1ms is shorter than 100ms (config key wifi.poll_interval of probe p1)"}},
		{"alias bomb in a fragment", "config:\n  standards: {}\n  x: &x\n" + indent(bomb, "    ") + probe,
			[]string{"expands to more than"}},
		{"empty building and floor", "sites: [{name: S, buildings: [{name: B}, {name: C, floors: [{name: F}]}]}]\n",
			[]string{"x.yml:1: sites[0].buildings[0].floors: is required (at least one floor)", "x.yml:1: sites[0].buildings[1].floors[0].wards: is required (at least one ward)"}},
		{"error cap", many.String(), []string{"x.yml:2: sites[0].nam: unknown key", fmt.Sprintf("and %d more errors", 900-MaxErrors)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("x.yml", t.TempDir(), []byte(c.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			got := err.Error()
			at := 0
			for _, w := range c.want {
				i := strings.Index(got[at:], w)
				if i < 0 {
					t.Fatalf("errors lack %q (in order):\n%s", w, got)
				}
				at += i + len(w)
			}
			if n := strings.Count(got, "\n") + 1; n > MaxErrors+1 {
				t.Errorf("%d error lines, more than the cap %d+1", n, MaxErrors)
			}
		})
	}
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pre) + "\n"
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"Royal Example Hospital": "royal-example-hospital", "Block B": "block-b", "2": "2", "St Mary's (A&E)": "st-mary-s-a-e"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
