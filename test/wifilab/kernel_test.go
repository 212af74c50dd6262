package wifilab

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// rootModules are the kernel modules the lab loads; their dependencies
// follow from each module's own "depends=" field.
func rootModules() []string {
	return []string{
		"mac80211_hwsim", // the simulated radios (with cfg80211, mac80211)
		"ccm", "ctr",     // CCMP for WPA2
		"bridge",                   // the ward network behind the APs
		"virtio_pci", "virtio_net", // the link to the host (agent, /metrics)
	}
}

// kernel is a Debian kernel unpacked for the lab: the image and the modules
// it needs, in load order.
type kernel struct {
	Package string
	Vmlinuz string
	Modules []string // paths, dependencies first
}

// debianKernel returns the kernel of Debian's linux-image-amd64, from cache
// or fetched with apt-get download and unpacked with dpkg-deb. Only the image
// and the modules the lab needs are kept in cache.
func debianKernel(cache string) (kernel, error) {
	pkg, err := kernelPackage()
	if err != nil {
		// No apt here: any kernel already in the cache will do.
		matches, _ := filepath.Glob(filepath.Join(cache, "linux-image-*", ".complete"))
		if len(matches) == 0 {
			return kernel{}, err
		}
		pkg = filepath.Base(filepath.Dir(matches[len(matches)-1]))
	}
	dir := filepath.Join(cache, pkg)
	k, err := cachedKernel(pkg, dir)
	if err == nil {
		return k, nil
	}
	if err := fetchKernel(pkg, dir); err != nil {
		return kernel{}, err
	}
	return cachedKernel(pkg, dir)
}

// kernelPackage asks apt which versioned package linux-image-amd64 depends on.
func kernelPackage() (string, error) {
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends linux-image-amd64: %w", err)
	}
	m := regexp.MustCompile(`Depends:\s*(linux-image-[0-9][^\s]*-amd64)`).FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("no versioned kernel in: %s", out)
	}
	return string(m[1]), nil
}

func cachedKernel(pkg, dir string) (kernel, error) {
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		return kernel{}, err
	}
	order, err := moduleOrder(filepath.Join(dir, "modules"), rootModules())
	if err != nil {
		return kernel{}, err
	}
	return kernel{Package: pkg, Vmlinuz: filepath.Join(dir, "vmlinuz"), Modules: order}, nil
}

// fetchKernel downloads and unpacks pkg, and keeps what the lab needs in dir.
func fetchKernel(pkg, dir string) error {
	cache := filepath.Dir(dir)
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(cache, "fetch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	download := func() error {
		cmd := exec.Command("apt-get", "download", pkg)
		cmd.Dir = tmp
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get download %s: %v: %s", pkg, err, out)
		}
		return nil
	}
	if err := download(); err != nil {
		// The package lists may be older than the mirror: refresh once.
		if out, uerr := exec.Command("apt-get", "update", "-qq").CombinedOutput(); uerr != nil {
			return fmt.Errorf("%v; apt-get update: %v: %s", err, uerr, out)
		}
		if err := download(); err != nil {
			return err
		}
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s left %d packages", pkg, len(debs))
	}
	root := filepath.Join(tmp, "root")
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg-deb -x: %v: %s", err, out)
	}
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	trees, _ := filepath.Glob(filepath.Join(root, "lib", "modules", "*", "kernel"))
	if len(images) != 1 || len(trees) != 1 {
		return fmt.Errorf("%s: %d images and %d module trees", pkg, len(images), len(trees))
	}
	all, err := indexModules(trees[0])
	if err != nil {
		return err
	}
	need, err := closure(all, rootModules())
	if err != nil {
		return err
	}
	stage := dir + ".tmp"
	_ = os.RemoveAll(stage)
	if err := os.MkdirAll(filepath.Join(stage, "modules"), 0o755); err != nil {
		return err
	}
	if err := copyFile(images[0], filepath.Join(stage, "vmlinuz")); err != nil {
		return err
	}
	for _, name := range need {
		if err := copyFile(all[name], filepath.Join(stage, "modules", name+".ko")); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(stage, ".complete"), []byte(pkg+"\n"), 0o644); err != nil {
		return err
	}
	_ = os.RemoveAll(dir)
	return os.Rename(stage, dir)
}

// indexModules maps module names (with "_" for "-") to their files under tree.
func indexModules(tree string) (map[string]string, error) {
	all := map[string]string{}
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			all[modName(filepath.Base(p))] = p
		}
		return nil
	})
	return all, err
}

func modName(file string) string {
	return strings.ReplaceAll(strings.TrimSuffix(file, ".ko"), "-", "_")
}

// depends reads a module's "depends=" list from its .modinfo section.
func depends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("module %s has no .modinfo", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			var out []string
			for _, d := range strings.Split(string(v), ",") {
				if d != "" {
					out = append(out, strings.ReplaceAll(d, "-", "_"))
				}
			}
			return out, nil
		}
	}
	return nil, nil
}

// closure returns roots and everything they depend on, dependencies first.
func closure(all map[string]string, roots []string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("module dependency cycle at %s", name)
		case 2:
			return nil
		}
		path, ok := all[name]
		if !ok {
			return fmt.Errorf("module %s not found (built in?)", name)
		}
		state[name] = 1
		deps, err := depends(path)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	for _, r := range roots {
		if err := visit(r); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleOrder returns the load order of roots from the cached modules in dir.
func moduleOrder(dir string, roots []string) ([]string, error) {
	all, err := indexModules(dir)
	if err != nil {
		return nil, err
	}
	names, err := closure(all, roots)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = all[n]
	}
	return paths, nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// errMissing marks a lab prerequisite that is not installed.
var errMissing = errors.New("not installed")
