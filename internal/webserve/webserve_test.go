package webserve

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestValidateRefusesOddFiles: a web config file that is a FIFO without a
// writer, or a directory, is refused at once rather than hanging the start.
func TestValidateRefusesOddFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "web.yml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yml")
	if err := os.WriteFile(good, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Validate(good); err != nil {
		t.Errorf("an empty web config: %v", err)
	}
	for _, p := range []string{fifo, dir} {
		done := make(chan error, 1)
		go func() { done <- Validate(p) }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s: %v; want not a regular file", p, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Validate hangs", p)
		}
	}
}
