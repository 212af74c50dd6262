package wifilab

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// entry is one file of an initramfs.
type entry struct {
	mode         uint32 // type and permission bits, as in stat(2)
	data         []byte
	src          string // host file to read instead of data
	rmaj, rminor uint32
}

const (
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFCHR = 0o020000
)

// initramfs is a set of files written as a gzip'd cpio "newc" archive, the
// format the kernel unpacks as its first root file system.
type initramfs struct {
	files map[string]entry
}

func newInitramfs() *initramfs {
	r := &initramfs{files: map[string]entry{}}
	r.dir("/dev")
	r.files["/dev/console"] = entry{mode: sIFCHR | 0o600, rmaj: 5, rminor: 1}
	return r
}

// dir adds a directory and its parents.
func (r *initramfs) dir(p string) {
	for p = path.Clean(p); p != "/" && p != "."; p = path.Dir(p) {
		if _, ok := r.files[p]; !ok {
			r.files[p] = entry{mode: sIFDIR | 0o755}
		}
	}
}

// file adds a file with the given content and permissions.
func (r *initramfs) file(p string, perm uint32, data []byte) {
	r.dir(path.Dir(p))
	r.files[path.Clean(p)] = entry{mode: sIFREG | perm, data: data}
}

// copy adds the host file src at p.
func (r *initramfs) copy(p, src string, perm uint32) {
	r.dir(path.Dir(p))
	r.files[path.Clean(p)] = entry{mode: sIFREG | perm, src: src}
}

// binary adds a dynamically linked host program at p and the shared
// libraries ldd says it needs, at the paths ldd gives.
func (r *initramfs) binary(p, src string) error {
	r.copy(p, src, 0o755)
	out, err := exec.Command("ldd", src).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil
		}
		return fmt.Errorf("ldd %s: %w", src, err)
	}
	re := regexp.MustCompile(`(?m)^\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$`)
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		lib, err := filepath.EvalSymlinks(m[1])
		if err != nil {
			return fmt.Errorf("library %s of %s: %w", m[1], src, err)
		}
		r.copy(m[1], lib, 0o755)
	}
	return nil
}

// write writes the archive, gzip'd, to w.
func (r *initramfs) write(w io.Writer) error {
	z := gzip.NewWriter(w)
	names := make([]string, 0, len(r.files))
	for n := range r.files {
		names = append(names, n)
	}
	sort.Strings(names) // parents before children
	ino := uint32(1)
	pad := func(n int) error {
		_, err := z.Write(make([]byte, (4-n%4)%4))
		return err
	}
	put := func(name string, e entry, data []byte) error {
		ino++
		nlink := uint32(1)
		if e.mode&sIFDIR != 0 {
			nlink = 2
		}
		hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
			ino, e.mode, 0, 0, nlink, 0, len(data), 0, 0, e.rmaj, e.rminor, len(name)+1, 0)
		if _, err := io.WriteString(z, hdr+name+"\x00"); err != nil {
			return err
		}
		if err := pad(len(hdr) + len(name) + 1); err != nil {
			return err
		}
		if _, err := z.Write(data); err != nil {
			return err
		}
		return pad(len(data))
	}
	for _, n := range names {
		e := r.files[n]
		data := e.data
		if e.src != "" {
			var err error
			if data, err = os.ReadFile(e.src); err != nil {
				return err
			}
		}
		if err := put(strings.TrimPrefix(n, "/"), e, data); err != nil {
			return err
		}
	}
	if err := put("TRAILER!!!", entry{}, nil); err != nil {
		return err
	}
	return z.Close()
}
