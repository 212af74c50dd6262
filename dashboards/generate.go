package dashboards

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Paths inside the dashboards directory.
const (
	InventoryFile = "floorplans.yml" // the floor-plan inventory
	JSONDir       = "grafana"        // the generated dashboards, provisioned from here
)

// Render builds every dashboard for inv and returns its JSON by file name.
func Render(inv Inventory) (map[string][]byte, error) {
	boards, err := Build(inv)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(boards))
	for _, b := range boards {
		j, err := b.JSON()
		if err != nil {
			return nil, err
		}
		out[b.File] = j
	}
	return out, nil
}

// WriteJSON writes files into dir and removes any other .json file there,
// so that a dashboard dropped from the generator does not linger.
func WriteJSON(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	for _, f := range old {
		if _, keep := files[filepath.Base(f)]; !keep {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("removing stale %s: %w", f, err)
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.ContainsAny(n, `/\`) {
			return fmt.Errorf("dashboard file name %q has a path separator", n)
		}
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", n, err)
		}
	}
	return nil
}
