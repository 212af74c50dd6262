// Package netlab holds the network lab tests: the real wardprobe binary
// against real peers in network namespaces made by each test.
package netlab

import (
	"fmt"
	"os"
	"testing"

	"github.com/wardprobe/wardprobe/test/lab"
)

// wardprobeBin is the binary under test, built once by TestMain.
var wardprobeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wardprobe-netlab")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	root, err := lab.ModuleRoot()
	if err == nil {
		wardprobeBin, err = lab.Build(root, dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
