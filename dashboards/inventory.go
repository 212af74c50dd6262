package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Inventory lists the floors that have a floor plan, with the probes on each
// and where they stand. Grafana's Canvas panel cannot place elements from
// query results, so the Floor plan dashboard is generated from this list; its
// probe positions come from wardprobe_probe_info (each probe's location.x and
// location.y) through Sync.
type Inventory struct {
	Floors []Floor `yaml:"floors"`
}

// Floor is one floor of one building and its floor-plan image.
type Floor struct {
	Site     string `yaml:"site"`
	Building string `yaml:"building"`
	Floor    string `yaml:"floor"`
	// Image is the floor plan's URL as the browser loads it: an absolute URL
	// or a path on the Grafana server such as /public/img/….
	Image  string          `yaml:"image"`
	Probes []ProbePosition `yaml:"probes"`
}

// ProbePosition is one probe on a floor plan; X and Y run from 0 to 1 from
// the image's top left corner, as location.x and location.y in its config.
type ProbePosition struct {
	Name string  `yaml:"name"`
	Ward string  `yaml:"ward"`
	Spot string  `yaml:"spot,omitempty"`
	X    float64 `yaml:"x"`
	Y    float64 `yaml:"y"`
}

// key identifies a floor.
func (f Floor) key() string { return f.Site + "\x00" + f.Building + "\x00" + f.Floor }

// Title names the floor for people.
func (f Floor) Title() string { return fmt.Sprintf("%s, %s, floor %s", f.Site, f.Building, f.Floor) }

// LoadInventory reads and checks an inventory file. Unknown keys are errors.
func LoadInventory(path string) (Inventory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Inventory{}, fmt.Errorf("reading floor plans: %w", err)
	}
	return ParseInventory(path, b)
}

// ParseInventory parses and checks an inventory; name is used in errors.
func ParseInventory(name string, b []byte) (Inventory, error) {
	var inv Inventory
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&inv); err != nil && !errors.Is(err, io.EOF) {
		return Inventory{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := inv.Validate(); err != nil {
		return Inventory{}, fmt.Errorf("%s: %w", name, err)
	}
	return inv, nil
}

// Validate reports every problem in inv: missing location fields, duplicate
// floors or probes, positions outside 0..1.
func (inv Inventory) Validate() error {
	var errs []error
	floors := map[string]bool{}
	probes := map[string]string{}
	for i, f := range inv.Floors {
		at := fmt.Sprintf("floors[%d]", i)
		if f.Site == "" || f.Building == "" || f.Floor == "" {
			errs = append(errs, fmt.Errorf("%s: site, building and floor are required", at))
		}
		if floors[f.key()] {
			errs = append(errs, fmt.Errorf("%s: %s is listed twice", at, f.Title()))
		}
		floors[f.key()] = true
		for j, p := range f.Probes {
			pat := fmt.Sprintf("%s.probes[%d]", at, j)
			if p.Name == "" {
				errs = append(errs, fmt.Errorf("%s: name is required", pat))
			}
			if prev, dup := probes[p.Name]; dup {
				errs = append(errs, fmt.Errorf("%s: probe %q is already placed at %s", pat, p.Name, prev))
			}
			probes[p.Name] = pat
			if !(p.X >= 0 && p.X <= 1) || !(p.Y >= 0 && p.Y <= 1) {
				errs = append(errs, fmt.Errorf("%s: x and y must be between 0 and 1 (got %v, %v)", pat, p.X, p.Y))
			}
		}
	}
	return errors.Join(errs...)
}

// inventoryHeader is written at the top of an inventory file.
const inventoryHeader = `# Floor plans for the "wardprobe — Floor plan" dashboard (dashboards/floor-plan.json).
# One entry per floor: the floor-plan image (a URL the browser can load, e.g. an
# image copied to Grafana's public/img/wardprobe/ directory) and the probes on it.
# Probe positions are location.x / location.y from each probe's config (0..1 from
# the image's top-left corner), as exported in wardprobe_probe_info:
#   go run ./dashboards/gen -sync http://prometheus.example.org:9090
# refreshes the probe lists from Prometheus and regenerates the dashboards.
`

// Marshal renders inv as an inventory file.
func (inv Inventory) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(inventoryHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(inv); err != nil {
		return nil, fmt.Errorf("rendering floor plans: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("rendering floor plans: %w", err)
	}
	return buf.Bytes(), nil
}

// ProbeInfo is what one wardprobe_probe_info series says about a probe.
type ProbeInfo struct {
	Site, Building, Floor, Ward, Probe, Spot string
	// X and Y are nil when the probe's config has no position.
	X, Y *float64
}

// Sync replaces the probe lists of inv with the probes in info, adding
// floors that are not listed yet (without an image). It returns notes for
// people: probes without a position, probes whose location holds a
// backquote (see the package comment) and floors without an image.
func (inv *Inventory) Sync(info []ProbeInfo) []string {
	var notes []string
	index := map[string]int{}
	for i := range inv.Floors {
		inv.Floors[i].Probes = nil
		index[inv.Floors[i].key()] = i
	}
	for _, p := range info {
		if strings.Contains(p.Site+p.Building+p.Floor+p.Ward+p.Probe, "`") {
			notes = append(notes, fmt.Sprintf("probe %s (%s, %s, floor %s, %s): a backquote in its location or name cannot be selected in the dashboards (they match raw PromQL strings): rename it", p.Probe, p.Site, p.Building, p.Floor, p.Ward))
		}
		if p.X == nil || p.Y == nil {
			notes = append(notes, fmt.Sprintf("probe %s (%s, %s, floor %s) has no location.x/y: not placed", p.Probe, p.Site, p.Building, p.Floor))
			continue
		}
		f := Floor{Site: p.Site, Building: p.Building, Floor: p.Floor}
		i, ok := index[f.key()]
		if !ok {
			i = len(inv.Floors)
			index[f.key()] = i
			inv.Floors = append(inv.Floors, f)
		}
		inv.Floors[i].Probes = append(inv.Floors[i].Probes, ProbePosition{Name: p.Probe, Ward: p.Ward, Spot: p.Spot, X: *p.X, Y: *p.Y})
	}
	sort.SliceStable(inv.Floors, func(i, j int) bool { return inv.Floors[i].key() < inv.Floors[j].key() })
	for i := range inv.Floors {
		f := &inv.Floors[i]
		sort.Slice(f.Probes, func(a, b int) bool { return f.Probes[a].Name < f.Probes[b].Name })
		if f.Image == "" {
			notes = append(notes, fmt.Sprintf("%s has no image: set floors[].image", f.Title()))
		}
	}
	return notes
}

// probeInfoQuery selects one series per probe with its position.
const probeInfoQuery = `max by (site, building, floor, ward, probe, spot, x, y) (wardprobe_probe_info)`

// ProbeInfoFromPrometheus asks the Prometheus at baseURL for every probe's
// wardprobe_probe_info.
func ProbeInfoFromPrometheus(ctx context.Context, c *http.Client, baseURL string) ([]ProbeInfo, error) {
	u := strings.TrimRight(baseURL, "/") + "/api/v1/query?" + url.Values{"query": {probeInfoQuery}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("querying probe positions: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("querying probe positions: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading probe positions: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("querying probe positions: %s answered %s: %.200s", baseURL, resp.Status, body)
	}
	return ParseProbeInfo(body)
}

// ParseProbeInfo reads a Prometheus instant-query response over
// wardprobe_probe_info. Series with an x or y that is not a number in 0..1
// are reported as errors; empty x and y mean "no position".
func ParseProbeInfo(body []byte) ([]ProbeInfo, error) {
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decoding Prometheus answer: %w", err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("prometheus query failed: %s", r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("prometheus answered a %q, want a vector", r.Data.ResultType)
	}
	var out []ProbeInfo
	var errs []error
	for _, s := range r.Data.Result {
		m := s.Metric
		p := ProbeInfo{Site: m["site"], Building: m["building"], Floor: m["floor"], Ward: m["ward"], Probe: m["probe"], Spot: m["spot"]}
		x, errX := coord(m["x"])
		y, errY := coord(m["y"])
		if err := errors.Join(errX, errY); err != nil {
			errs = append(errs, fmt.Errorf("probe %s: %w", p.Probe, err))
			continue
		}
		p.X, p.Y = x, y
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Probe < out[j].Probe })
	return out, errors.Join(errs...)
}

// coord parses a position label: "" is nil, else a number in 0..1.
func coord(s string) (*float64, error) {
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
		return nil, fmt.Errorf("position %q is not a number from 0 to 1", s)
	}
	return &v, nil
}
