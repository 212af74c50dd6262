// Package netlab holds the network lab tests: the real wardprobe binary
// against real peers in network namespaces made by each test.
package netlab

import (
	"os"
	"testing"

	"github.com/wardprobe/wardprobe/test/lab"
)

// wardprobeBin is the binary under test, built once by TestMain.
var wardprobeBin string

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, &wardprobeBin, nil))
}
