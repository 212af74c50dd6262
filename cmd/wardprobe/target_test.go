package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wardprobe/wardprobe/config"
)

// TestByteSizeFlag: the target's size flags take exactly config's syntax
// (one parser), within their own bounds.
func TestByteSizeFlag(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: rejected
	}{
		{"4096", 4096},
		{"32MiB", 32 << 20},
		{"8KiB", 8 << 10},
		{"1.5KiB", 1536},
		{"64kB", 64_000},
		{"64KB", 64_000},
		{"2MB", 2_000_000},
		{"1GiB", 1 << 30},
		{"1TiB", 1 << 40},
		{" 10 MiB ", 10 << 20},
		{"1B", 1},
		{"0", 0},
		{"0.5", 0},
		{"2TiB", 0},
		{"-1MiB", 0},
		{"NaN", 0},
		{"Inf", 0},
		{"1e300", 0},
		{"MiB", 0},
		{"12 parsecs", 0},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var v int64
			err := sizeValue{&v, "size"}.Set(tc.in)
			if tc.want == 0 {
				if err == nil {
					t.Fatalf("Set(%q) accepted %d, want an error", tc.in, v)
				}
				return
			}
			if err != nil || v != tc.want {
				t.Fatalf("Set(%q) = %d, %v; want %d", tc.in, v, err, tc.want)
			}
			// config reads the same text as the same size.
			if n, err := config.ParseByteSize(tc.in); err != nil || n != v {
				t.Errorf("config.ParseByteSize(%q) = %d, %v; the flag read %d", tc.in, n, err, v)
			}
		})
	}
}

func TestTargetFlagsRejected(t *testing.T) {
	for _, args := range [][]string{
		{"--max-tests", "0"},
		{"--min-rate", "0"},
		{"--rate-window", "0s"},
		{"--max-transfer-time", "-1s"},
		{"--max-test-time", "0s"},
		{"--max-upload-bytes", "lots"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"target"}, args...), &stdout, &stderr); code != 2 {
			t.Errorf("target %v: exit %d, want 2 (stderr %q)", args, code, stderr.String())
		}
		if !strings.Contains(stderr.String(), strings.TrimPrefix(args[0], "--")) {
			t.Errorf("target %v: stderr %q does not name the flag", args, stderr.String())
		}
	}
}
