// Command stockclient runs an unmodified showwin/speedtest-go client against
// a custom server, the way speedtest-go's README and CLI do (CustomServer,
// then ping, download and upload with the library's defaults), and prints
// the outcome as JSON. The throughput lab runs it against `wardprobe target`
// to show that any speedtest-go client, not only wardprobe's, can test
// against the target.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/showwin/speedtest-go/speedtest"
)

type report struct {
	Server          string  `json:"server"`
	PingMode        string  `json:"ping_mode"`
	LatencySeconds  float64 `json:"latency_seconds"`
	JitterSeconds   float64 `json:"jitter_seconds"`
	HTTPPingSeconds float64 `json:"http_ping_seconds"`
	DownloadBytesPS float64 `json:"download_bytes_per_second"`
	UploadBytesPS   float64 `json:"upload_bytes_per_second"`
	DownloadBytes   int64   `json:"download_bytes"`
	UploadBytes     int64   `json:"upload_bytes"`
	TotalSeconds    float64 `json:"total_seconds"`
}

func main() {
	url := flag.String("url", "", "custom server URL, e.g. http://10.0.0.2:8080")
	flag.Parse()
	if err := run(*url); err != nil {
		fmt.Fprintln(os.Stderr, "stockclient:", err)
		os.Exit(1)
	}
}

func run(url string) error {
	if url == "" {
		return fmt.Errorf("-url is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	client := speedtest.New(speedtest.WithUserConfig(&speedtest.UserConfig{PingMode: speedtest.TCP}))
	srv, err := client.CustomServer(url)
	if err != nil {
		return fmt.Errorf("custom server: %w", err)
	}
	if err := srv.PingTestContext(ctx, nil); err != nil {
		return fmt.Errorf("TCP ping test: %w", err)
	}
	if srv.Latency <= 0 {
		return fmt.Errorf("TCP ping test gave latency %v", srv.Latency)
	}
	httpLat, err := srv.HTTPPing(ctx, 5, 100*time.Millisecond, nil)
	if err != nil || len(httpLat) == 0 {
		return fmt.Errorf("HTTP ping: %v (%d results)", err, len(httpLat))
	}
	if err := srv.DownloadTestContext(ctx); err != nil {
		return fmt.Errorf("download test: %w", err)
	}
	if err := srv.UploadTestContext(ctx); err != nil {
		return fmt.Errorf("upload test: %w", err)
	}
	r := report{
		Server: srv.URL, PingMode: "tcp",
		LatencySeconds: srv.Latency.Seconds(), JitterSeconds: srv.Jitter.Seconds(),
		HTTPPingSeconds: time.Duration(httpLat[0]).Seconds(),
		DownloadBytesPS: float64(srv.DLSpeed), UploadBytesPS: float64(srv.ULSpeed),
		DownloadBytes: client.GetTotalDownload(), UploadBytes: client.GetTotalUpload(),
		TotalSeconds: time.Since(start).Seconds(),
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}
