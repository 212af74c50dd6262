package throughput

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// errNoState: the state file does not exist (a first start).
var errNoState = errors.New("no throughput budget state file")

// maxStateBytes bounds what is read of the state file.
const maxStateBytes = 4 << 10

// stateFile is the file a Budget keeps the day's use in:
// {"day":"2026-03-02","used_bytes":123} (used_bytes: bytes charged that
// local day). It is replaced whole on each write, never edited in place.
type stateFile struct {
	path string
}

// stateRecord is the state file's content.
type stateRecord struct {
	Day  string `json:"day"`
	Used int64  `json:"used_bytes"`
}

// read returns the day and bytes the file holds. It opens only a regular
// file (a FIFO or device is refused unopened, and the open is non-blocking
// in case one is swapped in), reads at most maxStateBytes and checks every
// field. A missing file is errNoState.
func (f *stateFile) read() (day string, used int64, err error) {
	fi, err := os.Stat(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return "", 0, errNoState
	}
	if err != nil {
		return "", 0, fmt.Errorf("throughput budget state %s: %w", f.path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", 0, fmt.Errorf("throughput budget state %s is not a regular file but %s", f.path, kindOf(fi.Mode()))
	}
	fd, err := os.OpenFile(f.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", 0, fmt.Errorf("throughput budget state: %w", err)
	}
	defer fd.Close()
	if fi, err = fd.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "", 0, fmt.Errorf("throughput budget state %s is not a regular file", f.path)
	}
	data, err := io.ReadAll(io.LimitReader(fd, maxStateBytes+1))
	if err != nil {
		return "", 0, fmt.Errorf("throughput budget state: %w", err)
	}
	if len(data) > maxStateBytes {
		return "", 0, fmt.Errorf("throughput budget state %s is corrupt: over %d bytes", f.path, maxStateBytes)
	}
	var rec stateRecord
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return "", 0, fmt.Errorf("throughput budget state %s is corrupt: %w", f.path, err)
	}
	if _, err := time.Parse(time.DateOnly, rec.Day); err != nil || rec.Used < 0 {
		return "", 0, fmt.Errorf("throughput budget state %s is corrupt: day %q, used_bytes %d", f.path, rec.Day, rec.Used)
	}
	return rec.Day, rec.Used, nil
}

// write replaces the file with day and used, durably: a new file in the
// same directory (created exclusively, so never an existing FIFO or link)
// is written and fsync'd, renamed over the old one, and the directory is
// fsync'd. A crash at any point leaves the old content or the new one.
func (f *stateFile) write(day string, used int64) (err error) {
	data, _ := json.Marshal(stateRecord{Day: day, Used: used})
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing the throughput budget state: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("writing the throughput budget state %s: %w", f.path, err)
		}
	}()
	if _, err = tmp.Write(append(data, '\n')); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), f.path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeStale removes temporary files a crash left behind (regular files
// named as write names them).
func (f *stateFile) removeStale() {
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, "."+base+".") && strings.HasSuffix(n, ".tmp") {
			os.Remove(filepath.Join(dir, n))
		}
	}
}

// kindOf names a file mode's type.
func kindOf(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m.IsDir():
		return "a directory"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "of type " + m.Type().String()
}
