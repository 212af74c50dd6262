package dashboards

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseInventoryRejectsMistakes(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"typo in a key", "floors:\n  - site: S\n    biulding: B\n    floor: \"1\"\n", "biulding"},
		{"missing floor", "floors:\n  - {site: S, building: B}\n", "site, building and floor are required"},
		{"x out of range", "floors:\n  - {site: S, building: B, floor: \"1\", probes: [{name: p, x: 1.5, y: 0.5}]}\n", "between 0 and 1"},
		{"probe on two floors", "floors:\n  - {site: S, building: B, floor: \"1\", probes: [{name: p, x: 0.5, y: 0.5}]}\n  - {site: S, building: B, floor: \"2\", probes: [{name: p, x: 0.5, y: 0.5}]}\n", "already placed"},
		{"floor twice", "floors:\n  - {site: S, building: B, floor: \"1\"}\n  - {site: S, building: B, floor: \"1\"}\n", "listed twice"},
		{"not YAML", "floors: [", "floors.yml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseInventory("floors.yml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one mentioning %q", err, c.want)
			}
		})
	}
	if inv, err := ParseInventory("empty.yml", nil); err != nil || len(inv.Floors) != 0 {
		t.Errorf("empty inventory: %v, %v", inv, err)
	}
}

func TestParseProbeInfo(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		want    int
		wantErr string
	}{
		{"two probes, one without position",
			`{"status":"success","data":{"resultType":"vector","result":[
			 {"metric":{"site":"S","building":"B","floor":"1","ward":"W","probe":"b","spot":"bay","x":"0.25","y":"0.75"},"value":[1,"1"]},
			 {"metric":{"site":"S","building":"B","floor":"1","ward":"W","probe":"a","x":"","y":""},"value":[1,"1"]}]}}`, 2, ""},
		{"position out of range",
			`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"probe":"a","x":"2","y":"0.5"},"value":[1,"1"]}]}}`, 0, "not a number from 0 to 1"},
		{"query error", `{"status":"error","error":"bad query"}`, 0, "bad query"},
		{"not JSON", `<html>`, 0, "decoding"},
		{"matrix", `{"status":"success","data":{"resultType":"matrix","result":[]}}`, 0, "want a vector"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseProbeInfo([]byte(c.body))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || len(got) != c.want {
				t.Fatalf("got %d probes, %v; want %d", len(got), err, c.want)
			}
			if got[0].Probe != "a" || got[0].X != nil || got[1].X == nil || *got[1].X != 0.25 || *got[1].Y != 0.75 {
				t.Errorf("parsed %+v", got)
			}
		})
	}
}

func TestSyncPlacesProbesFromProbeInfo(t *testing.T) {
	x, y := 0.5, 0.25
	inv := Inventory{Floors: []Floor{{Site: "S", Building: "B", Floor: "1", Image: "/img/b1.svg",
		Probes: []ProbePosition{{Name: "old", X: 0.1, Y: 0.1}}}}}
	notes := inv.Sync([]ProbeInfo{
		{Site: "S", Building: "B", Floor: "1", Ward: "W1", Probe: "p1", X: &x, Y: &y},
		{Site: "S", Building: "B", Floor: "2", Ward: "W2", Probe: "p2", X: &y, Y: &x},
		{Site: "S", Building: "B", Floor: "2", Ward: "W2", Probe: "p3"},
	})
	if err := inv.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(inv.Floors) != 2 || len(inv.Floors[0].Probes) != 1 || inv.Floors[0].Probes[0].Name != "p1" || inv.Floors[0].Image != "/img/b1.svg" {
		t.Errorf("floor 1 after sync: %+v", inv.Floors)
	}
	if len(inv.Floors[1].Probes) != 1 || inv.Floors[1].Probes[0].X != 0.25 {
		t.Errorf("floor 2 after sync: %+v", inv.Floors[1])
	}
	if len(notes) != 2 || !strings.Contains(strings.Join(notes, "\n"), "p3") || !strings.Contains(strings.Join(notes, "\n"), "no image") {
		t.Errorf("notes %q: want one for p3 (no position) and one for floor 2 (no image)", notes)
	}
	bq := Inventory{}
	if notes := bq.Sync([]ProbeInfo{{Site: "S", Building: "B", Floor: "1", Ward: "King`s", Probe: "p4", X: &x, Y: &y}}); len(notes) != 2 || !strings.Contains(notes[0], "backquote") {
		t.Errorf("notes %q: want one for the backquote in the ward (and one for the missing image)", notes)
	}
	b, err := inv.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseInventory("synced.yml", b)
	if err != nil || len(back.Floors) != 2 || back.Floors[0].Probes[0].Name != "p1" {
		t.Errorf("marshalled inventory does not read back: %v %+v", err, back)
	}
}

// TestExampleImagesExist: every image the inventories serve from Grafana's
// public/img/wardprobe/ ships in dashboards/floorplans/.
func TestExampleImagesExist(t *testing.T) {
	for _, f := range append(inventory(t).Floors, exampleInventory(t).Floors...) {
		const prefix = "/public/img/wardprobe/"
		if !strings.HasPrefix(f.Image, prefix) {
			continue
		}
		if _, err := os.Stat(filepath.Join("floorplans", strings.TrimPrefix(f.Image, prefix))); err != nil {
			t.Errorf("%s: image %s not in dashboards/floorplans/: %v", f.Title(), f.Image, err)
		}
	}
}

func TestProvisioning(t *testing.T) {
	var dash struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Folder  string `yaml:"folder"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "provisioning/dashboards/wardprobe.yml", &dash)
	if dash.APIVersion != 1 || len(dash.Providers) != 1 || dash.Providers[0].Type != "file" || dash.Providers[0].Options.Path == "" {
		t.Errorf("dashboard provider: %+v", dash)
	}
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Type     string `yaml:"type"`
			URL      string `yaml:"url"`
			JSONData struct {
				TimeInterval string `yaml:"timeInterval"`
			} `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, "provisioning/datasources/prometheus.yml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].JSONData.TimeInterval != "15s" {
		t.Errorf("datasource: %+v (want one prometheus data source with the 15s scrape interval)", ds)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := yaml.NewDecoder(f).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
