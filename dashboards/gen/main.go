// Command gen regenerates wardprobe's Grafana dashboards (make dashboards):
//
//	go run ./dashboards/gen [-dir dashboards] [-sync http://prometheus:9090]
//
// It reads the floor-plan inventory dir/floorplans.yml and writes the
// dashboards' JSON to dir/grafana/. With -sync it first refreshes the
// inventory's probe positions from wardprobe_probe_info in that Prometheus
// and rewrites floorplans.yml.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/wardprobe/wardprobe/dashboards"
)

func main() {
	dir := flag.String("dir", "dashboards", "the dashboards directory (holds floorplans.yml and grafana/)")
	sync := flag.String("sync", "", "Prometheus base URL to refresh probe positions from (wardprobe_probe_info)")
	flag.Parse()
	if err := run(*dir, *sync); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir, syncURL string) error {
	invPath := filepath.Join(dir, dashboards.InventoryFile)
	inv, err := dashboards.LoadInventory(invPath)
	if err != nil {
		return err
	}
	if syncURL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		info, err := dashboards.ProbeInfoFromPrometheus(ctx, &http.Client{Timeout: 30 * time.Second}, syncURL)
		if err != nil {
			return err
		}
		for _, n := range inv.Sync(info) {
			fmt.Fprintln(os.Stderr, "gen: note:", n)
		}
		if err := inv.Validate(); err != nil {
			return fmt.Errorf("positions from %s: %w", syncURL, err)
		}
		b, err := inv.Marshal()
		if err != nil {
			return err
		}
		if err := os.WriteFile(invPath, b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", invPath, err)
		}
		fmt.Fprintf(os.Stderr, "gen: %s: %d floors from %d probes\n", invPath, len(inv.Floors), len(info))
	}
	files, err := dashboards.Render(inv)
	if err != nil {
		return err
	}
	out := filepath.Join(dir, dashboards.JSONDir)
	if err := dashboards.WriteJSON(out, files); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %d dashboards to %s\n", len(files), out)
	return nil
}
