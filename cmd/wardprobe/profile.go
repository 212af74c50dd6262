package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/alecthomas/kingpin/v2"
)

// profileOptions adds the hidden --debug.cpu-profile and --debug.heap-profile
// flags to cmd: they write pprof profiles of the whole run to files (the CPU
// profile from start to a clean stop, the heap profile at the stop), so that
// the footprint of the real daemon can be measured (test/bench does) without
// ever serving pprof on the public listener. The returned function starts
// profiling once flags are parsed and returns the function that finishes it.
func profileOptions(cmd *kingpin.CmdClause, stderr io.Writer) func() (stop func(), err error) {
	cpu := cmd.Flag("debug.cpu-profile", "Write a pprof CPU profile of the run to FILE (for benchmarks).").Hidden().PlaceHolder("FILE").String()
	heap := cmd.Flag("debug.heap-profile", "Write a pprof heap profile to FILE when the run stops (for benchmarks).").Hidden().PlaceHolder("FILE").String()
	return func() (func(), error) {
		if *heap != "" {
			// Sample every 4 KiB allocated (the default is every 512 KiB):
			// a small daemon's heap would hardly show otherwise.
			runtime.MemProfileRate = 4096
		}
		var cpuFile *os.File
		if *cpu != "" {
			f, err := os.Create(*cpu)
			if err != nil {
				return nil, fmt.Errorf("CPU profile: %w", err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				return nil, fmt.Errorf("CPU profile: %w", err)
			}
			cpuFile = f
		}
		return func() {
			if cpuFile != nil {
				pprof.StopCPUProfile()
				if err := cpuFile.Close(); err != nil {
					fmt.Fprintf(stderr, "wardprobe: CPU profile: %v\n", err)
				}
			}
			if *heap != "" {
				if err := writeHeap(*heap); err != nil {
					fmt.Fprintf(stderr, "wardprobe: heap profile: %v\n", err)
				}
			}
		}, nil
	}
}

// writeHeap writes a heap profile (after a GC, so that it shows live memory) to path.
func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
