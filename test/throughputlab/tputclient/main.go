// Command tputclient runs one wardprobe throughput test (probe/throughput,
// the code the daemon runs) against a target and prints the result as JSON,
// with the CPU time the process used in each direction. The throughput
// benchmark runs it in the probe namespace to compare the cost per byte of
// download and upload; -cpuprofile writes a pprof CPU profile of the test.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/wardprobe/wardprobe/probe/throughput"
)

type direction struct {
	BitsPerSecond float64 `json:"bits_per_second"`
	Bytes         int64   `json:"bytes"`
	CPUUser       float64 `json:"cpu_user_seconds"`
	CPUSystem     float64 `json:"cpu_system_seconds"`
	Settled       bool    `json:"settled"`
	Capped        bool    `json:"capped"`
}

type report struct {
	Success  bool      `json:"success"`
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Download direction `json:"download"`
	Upload   direction `json:"upload"`
}

func main() {
	url := flag.String("url", "", "target URL, e.g. http://10.79.0.2:8080")
	iface := flag.String("interface", "", "interface to test through (\"\": the routing table)")
	allowance := flag.Int64("allowance", 100<<20, "bytes the test may move")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the test to this file")
	streams := flag.Int("streams", 0, "parallel transfers per direction (0: wardprobe's default)")
	flag.Parse()
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1) // as `wardprobe run` runs its Go code (cmd/wardprobe)
	}
	if err := run(*url, *iface, *allowance, *streams, *profile); err != nil {
		fmt.Fprintln(os.Stderr, "tputclient:", err)
		os.Exit(1)
	}
}

func run(url, iface string, allowance int64, streams int, profile string) error {
	c, err := throughput.NewClient(throughput.Config{Mode: throughput.ModeOnPrem, URL: url, Interface: iface,
		Timeout: 20 * time.Second, Streams: streams})
	if err != nil {
		return err
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res := c.Test(context.Background(), allowance)
	dir := func(d throughput.Direction) direction {
		return direction{BitsPerSecond: d.BitsPerSecond, Bytes: d.Bytes, CPUUser: d.CPUUser.Seconds(), CPUSystem: d.CPUSystem.Seconds(), Settled: d.Settled, Capped: d.Capped}
	}
	return json.NewEncoder(os.Stdout).Encode(report{Success: res.Success, Reason: string(res.Reason), Detail: res.Detail,
		Download: dir(res.Download), Upload: dir(res.Upload)})
}
