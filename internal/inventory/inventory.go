// Package inventory reads an estate inventory — one YAML file of sites,
// buildings, floors (with floor-plan images), wards and the probes in them —
// checks it strictly, and turns it into what a fleet needs: each probe's
// wardprobe config (validated by the config package), Prometheus file_sd
// target files labelled with the location, the floor plans the dashboards
// use (dashboards/floorplans.yml format) and an Ansible inventory for the
// roll-out (deploy/ansible).
//
// Errors follow the config package's style: every problem at once, each as
// FILE:LINE: dotted.path: message (config.Error), including problems in the
// generated configs, which are traced back to the inventory line they came
// from.
package inventory

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"

	"github.com/wardprobe/wardprobe/config"
)

// Bounds on an inventory, so that a hostile or broken file costs bounded
// memory and time.
const (
	MaxFileBytes     = 16 << 20 // a 10,000-probe estate is about 2 MiB
	MaxProbes        = 20_000
	MaxErrors        = 200        // errors listed; the rest are counted
	MaxFragmentNodes = 5_000      // values one config fragment may expand to (a ward config is ~300)
	MaxCopiedNodes   = 20_000_000 // values copied into all generated configs together
	DefaultPort      = 9810
	DefaultImageURL  = "/public/img/wardprobe/"
)

// Inventory is the file as written.
type Inventory struct {
	// Standard is the default minimum standard of every ward (a built-in
	// name or one under config.standards).
	Standard string `yaml:"standard"`
	// ListenPort is the port every probe serves metrics on (default 9810).
	ListenPort int `yaml:"listen_port"`
	// RunFlags are extra `wardprobe run` flags for every probe, written to
	// WARDPROBE_ARGS in /etc/default/wardprobe.
	RunFlags []string `yaml:"run_flags"`
	// FloorPlanURL is where Grafana serves the floor-plan images from
	// (default /public/img/wardprobe/).
	FloorPlanURL string `yaml:"floor_plan_url"`
	// Config is a wardprobe config fragment every probe gets (any top-level
	// config keys but probe, location and standard).
	Config *yaml.Node `yaml:"config"`
	Sites  []Site     `yaml:"sites"`
}

// Site is a hospital; its Config replaces the estate's keys of the same name.
type Site struct {
	Name      string     `yaml:"name"`
	Config    *yaml.Node `yaml:"config"`
	Buildings []Building `yaml:"buildings"`
}

// Building is a building of a site.
type Building struct {
	Name   string  `yaml:"name"`
	Floors []Floor `yaml:"floors"`
}

// Floor is a floor of a building; FloorPlan is the path of its floor-plan
// image (SVG, PNG, JPEG or WebP), relative to the inventory file.
type Floor struct {
	Name      string `yaml:"name"`
	FloorPlan string `yaml:"floor_plan"`
	Wards     []Ward `yaml:"wards"`
}

// Ward is a ward on a floor, held to Standard (default: the estate's).
type Ward struct {
	Name     string     `yaml:"name"`
	Standard string     `yaml:"standard"`
	Config   *yaml.Node `yaml:"config"`
	Probes   []Probe    `yaml:"probes"`
}

// Probe is one probe: where it stands (Spot, and X, Y on the floor plan,
// 0..1 from the top left) and the address of its wired management
// interface, which Prometheus scrapes and the probe listens on.
type Probe struct {
	Name              string     `yaml:"name"`
	Spot              string     `yaml:"spot"`
	X                 *float64   `yaml:"x"`
	Y                 *float64   `yaml:"y"`
	ManagementAddress string     `yaml:"management_address"`
	Standard          string     `yaml:"standard"`
	Config            *yaml.Node `yaml:"config"`
}

// Estate is a checked inventory with every probe's generated config.
type Estate struct {
	File         string
	Dir          string // directory of File: floor plans are relative to it
	ListenPort   int
	RunFlags     []string
	FloorPlanURL string
	Probes       []ProbeSpec
	Floors       []FloorSpec
}

// ProbeSpec is one probe, resolved.
type ProbeSpec struct {
	Name, Site, Building, Floor, Ward, Spot string
	X, Y                                    *float64
	ManagementAddress                       string
	// Config is the probe's wardprobe config (YAML, accepted by config.Parse).
	Config []byte
	// Files are the absolute paths of the files the config names (keys
	// ending in _file); those under /etc/wardprobe/ are pushed by the
	// roll-out (credentials, CAs).
	Files []string
}

// FloorSpec is one floor with its floor-plan image (path on disk, "" when
// none) and the probes on it.
type FloorSpec struct {
	Site, Building, Floor string
	Image                 string
	Probes                []int // indexes into Estate.Probes
}

// Load reads and checks the inventory at path.
func Load(path string) (*Estate, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0) // a FIFO must not hang the command
	if err != nil {
		return nil, fmt.Errorf("reading inventory: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading inventory %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading inventory %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, config.Errors{{File: path, Line: 1, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileBytes)}}
	}
	return Parse(path, filepath.Dir(path), data)
}

// Parse checks the inventory in data; file names it in errors and dir is
// where floor-plan paths are relative to. A returned error is a
// config.Errors listing every problem.
func Parse(file, dir string, data []byte) (*Estate, error) {
	errs := &errorList{}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if err == io.EOF {
			return nil, config.Errors{{File: file, Line: 1, Msg: "inventory is empty"}}
		}
		return nil, config.Errors{syntaxError(file, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		line := extra.Line
		if err != nil {
			line = syntaxError(file, err).Line
		}
		errs.add(config.Error{File: file, Line: line, Msg: "a second YAML document (---) in the file: an inventory is one document"})
	}
	var inv Inventory
	lines, derrs, dropped := config.Strict{File: file, MaxNodes: MaxNodes}.Decode(&root, &inv)
	for _, e := range derrs {
		errs.add(e)
	}
	errs.dropped += dropped
	v := &validator{file: file, dir: dir, lines: lines, errs: errs, inv: &inv}
	est := v.check()
	if errs.count() > 0 {
		return nil, errs.result()
	}
	est.File, est.Dir = file, dir
	return est, nil
}

// syntaxError turns a yaml.v3 error ("yaml: line 3: ...") into an Error.
func syntaxError(file string, err error) config.Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if strings.HasPrefix(msg, "line ") {
		var n int
		if _, e := fmt.Sscanf(msg, "line %d:", &n); e == nil {
			line = n
			if i := strings.Index(msg, ":"); i >= 0 {
				msg = strings.TrimSpace(msg[i+1:])
			}
		}
	}
	return config.Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

// errorList collects errors, keeping the first MaxErrors (in file order
// once sorted) and counting the rest.
type errorList struct {
	errs    config.Errors
	dropped int // found but not kept (by the decoder)
}

func (l *errorList) add(e config.Error) { l.errs = append(l.errs, e) }
func (l *errorList) count() int         { return len(l.errs) + l.dropped }

// result returns the errors in line order, at most MaxErrors of them and a
// last line saying how many more there were.
func (l *errorList) result() config.Errors {
	sort.SliceStable(l.errs, func(i, j int) bool { return l.errs[i].Line < l.errs[j].Line })
	more := l.dropped + max(len(l.errs)-MaxErrors, 0)
	if more == 0 {
		return l.errs
	}
	out := append(config.Errors{}, l.errs[:min(len(l.errs), MaxErrors)]...)
	last := out[len(out)-1]
	return append(out, config.Error{File: last.File, Line: last.Line, Path: last.Path, Msg: fmt.Sprintf("and %d more errors", more)})
}

var (
	probeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	hostRE      = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)
	slugRE      = regexp.MustCompile(`[^a-z0-9]+`)
)

// Slug makes a file-name-safe lower-case form of s ("Block B" → "block-b").
func Slug(s string) string {
	return strings.Trim(slugRE.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// imageTypes are the floor-plan formats a browser shows in Grafana's Canvas panel.
var imageTypes = map[string]bool{".svg": true, ".png": true, ".jpg": true, ".jpeg": true, ".webp": true}

// MaxImageBytes bounds a floor-plan image.
const MaxImageBytes = 20 << 20

type validator struct {
	file, dir string
	lines     map[string]int
	errs      *errorList
	inv       *Inventory
	copied    int // nodes copied into generated configs
}

func (v *validator) line(path string) int { return config.LineOf(v.lines, path) }

func (v *validator) errorf(path, format string, args ...any) {
	v.errs.add(config.Error{File: v.file, Line: v.line(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// name checks a required, unique-among-siblings name.
func (v *validator) name(path, what, name string, seen map[string]string) {
	switch {
	case strings.TrimSpace(name) == "":
		v.errorf(path, "is required (the %s's name)", what)
	case len(name) > 128:
		v.errorf(path, "is longer than 128 characters")
	case strings.ContainsAny(name, "\x00\r\n\t"):
		v.errorf(path, "contains a control character")
	default:
		if prev, dup := seen[name]; dup {
			v.errorf(path, "duplicate %s %q (first at %s)", what, name, prev)
			return
		}
		seen[name] = path
	}
}

func (v *validator) check() *Estate {
	inv := v.inv
	est := &Estate{ListenPort: inv.ListenPort, RunFlags: inv.RunFlags, FloorPlanURL: inv.FloorPlanURL}
	if est.ListenPort == 0 {
		est.ListenPort = DefaultPort
	} else if est.ListenPort < 1 || est.ListenPort > 65535 {
		v.errorf("listen_port", "%d is not a port number", est.ListenPort)
	}
	if est.FloorPlanURL == "" {
		est.FloorPlanURL = DefaultImageURL
	} else if !strings.HasSuffix(est.FloorPlanURL, "/") {
		v.errorf("floor_plan_url", "must end with / (the image's file name is appended)")
	}
	for i, f := range inv.RunFlags {
		p := fmt.Sprintf("run_flags[%d]", i)
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		switch {
		case !strings.HasPrefix(f, "-"):
			v.errorf(p, "%q is not a flag (--name=value)", f)
		case name == "config" || name == "web.listen-address":
			v.errorf(p, "--%s is set by the inventory (the config path and management_address)", name)
		case strings.ContainsAny(f, " \t\"'\\$\n"):
			v.errorf(p, "%q: write each flag as one --name=value without spaces, quotes or $", f)
		}
	}
	if len(inv.Sites) == 0 {
		v.errorf("sites", "is required (at least one site)")
	}
	v.fragment("config", inv.Config)
	sites, siteSlugs := map[string]string{}, map[string]string{}
	probeNames, addrs := map[string]string{}, map[string]string{}
	for si, s := range inv.Sites {
		sp := fmt.Sprintf("sites[%d]", si)
		v.name(sp+".name", "site", s.Name, sites)
		if sl := Slug(s.Name); s.Name != "" {
			if prev, dup := siteSlugs[sl]; dup && sl != "" && sites[s.Name] == sp+".name" {
				v.errorf(sp+".name", "%q gives the same file name (%s) as the site at %s", s.Name, sl, prev)
			} else if sl == "" {
				v.errorf(sp+".name", "%q needs at least one letter or digit", s.Name)
			}
			siteSlugs[sl] = sp
		}
		v.fragment(sp+".config", s.Config)
		if len(s.Buildings) == 0 {
			v.errorf(sp+".buildings", "is required (at least one building)")
		}
		buildings := map[string]string{}
		for bi, b := range s.Buildings {
			bp := fmt.Sprintf("%s.buildings[%d]", sp, bi)
			v.name(bp+".name", "building", b.Name, buildings)
			if len(b.Floors) == 0 {
				v.errorf(bp+".floors", "is required (at least one floor)")
			}
			floors := map[string]string{}
			for fi, f := range b.Floors {
				fp := fmt.Sprintf("%s.floors[%d]", bp, fi)
				v.name(fp+".name", "floor", f.Name, floors)
				fs := FloorSpec{Site: s.Name, Building: b.Name, Floor: f.Name}
				if f.FloorPlan != "" {
					fs.Image = v.image(fp+".floor_plan", f.FloorPlan)
				}
				if len(f.Wards) == 0 {
					v.errorf(fp+".wards", "is required (at least one ward)")
				}
				wards := map[string]string{}
				for wi, w := range f.Wards {
					wp := fmt.Sprintf("%s.wards[%d]", fp, wi)
					v.name(wp+".name", "ward", w.Name, wards)
					v.fragment(wp+".config", w.Config)
					if len(w.Probes) == 0 {
						v.errorf(wp+".probes", "is required (at least one probe)")
					}
					for pi, p := range w.Probes {
						pp := fmt.Sprintf("%s.probes[%d]", wp, pi)
						v.probe(pp, p, probeNames, addrs)
						if len(est.Probes) >= MaxProbes {
							if len(est.Probes) == MaxProbes {
								v.errorf(pp, "more than %d probes in one inventory: split the estate", MaxProbes)
								est.Probes = append(est.Probes, ProbeSpec{})
							}
							continue
						}
						spec := ProbeSpec{Name: p.Name, Site: s.Name, Building: b.Name, Floor: f.Name, Ward: w.Name,
							Spot: p.Spot, X: p.X, Y: p.Y, ManagementAddress: p.ManagementAddress}
						standard, stdPath := p.Standard, pp+".standard"
						if standard == "" {
							standard, stdPath = w.Standard, wp+".standard"
						}
						if standard == "" {
							standard, stdPath = inv.Standard, "standard"
						}
						spec.Config, spec.Files = v.generate(pp, wp, spec, standard, stdPath, []fragmentAt{
							{"config", inv.Config}, {sp + ".config", s.Config}, {wp + ".config", w.Config}, {pp + ".config", p.Config}})
						fs.Probes = append(fs.Probes, len(est.Probes))
						est.Probes = append(est.Probes, spec)
					}
				}
				est.Floors = append(est.Floors, fs)
			}
		}
	}
	return est
}

func (v *validator) probe(pp string, p Probe, names, addrs map[string]string) {
	switch {
	case p.Name == "":
		v.errorf(pp+".name", "is required (the probe's unique name, its \"probe\" label)")
	case !probeNameRE.MatchString(p.Name):
		v.errorf(pp+".name", "%q: use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit (it names files and hosts)", p.Name)
	default:
		if prev, dup := names[p.Name]; dup {
			v.errorf(pp+".name", "duplicate probe name %q (first at %s)", p.Name, prev)
		} else {
			names[p.Name] = pp
		}
	}
	a := p.ManagementAddress
	switch {
	case a == "":
		v.errorf(pp+".management_address", "is required (the address of the probe's wired management interface)")
	case net.ParseIP(a) == nil && (!hostRE.MatchString(a) || len(a) > 253):
		v.errorf(pp+".management_address", "%q is not an IP address or host name (no port: listen_port sets it)", a)
	default:
		key := strings.ToLower(a)
		if ip := net.ParseIP(a); ip != nil {
			key = ip.String()
		}
		if prev, dup := addrs[key]; dup {
			v.errorf(pp+".management_address", "%s is already the address of the probe at %s", a, prev)
		} else {
			addrs[key] = pp
		}
	}
	if (p.X == nil) != (p.Y == nil) {
		v.errorf(pp, "give both x and y, or neither")
	}
	for _, c := range []struct {
		key string
		val *float64
	}{{"x", p.X}, {"y", p.Y}} {
		if c.val != nil && !(*c.val >= 0 && *c.val <= 1) {
			v.errorf(pp+"."+c.key, "%g is outside 0..1 (0,0 is the floor plan's top left corner)", *c.val)
		}
	}
}

// image checks a floor-plan image path and returns it resolved.
func (v *validator) image(path, p string) string {
	full := p
	if !filepath.IsAbs(full) {
		full = filepath.Join(v.dir, p)
	}
	if !imageTypes[strings.ToLower(filepath.Ext(p))] {
		v.errorf(path, "%q is not an SVG, PNG, JPEG or WebP image", p)
		return ""
	}
	fi, err := os.Stat(full)
	switch {
	case err != nil:
		v.errorf(path, "%v", err)
		return ""
	case !fi.Mode().IsRegular():
		v.errorf(path, "%s is not a regular file", full)
		return ""
	case fi.Size() > MaxImageBytes:
		v.errorf(path, "%s is larger than %d MiB", full, MaxImageBytes>>20)
		return ""
	}
	return full
}

// reserved are the config keys the inventory writes itself.
var reserved = map[string]string{
	"probe":    "the probe's name comes from probes[].name",
	"location": "the location comes from the site, building, floor, ward and probe entries",
	"standard": "set standard on the estate, a ward or a probe",
}

// fragment checks the shape of a config fragment (a mapping without the
// keys the inventory writes) and bounds its size.
func (v *validator) fragment(path string, n *yaml.Node) {
	if n == nil {
		return
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		v.errorf(path, "expected a mapping of wardprobe config keys, got %s", config.NodeKind(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if why, ok := reserved[k.Value]; ok {
			v.errs.add(config.Error{File: v.file, Line: k.Line, Path: config.JoinPath(path, k.Value), Msg: "is set by the inventory: " + why})
		}
	}
	if c := countNodes(n, MaxFragmentNodes+1); c > MaxFragmentNodes {
		v.errorf(path, "expands to more than %d values (a ward's config has a few hundred)", MaxFragmentNodes)
	}
}

func countNodes(n *yaml.Node, limit int) int {
	c := 0
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if c >= limit || depth > 100 {
			c = limit
			return
		}
		c++
		if n.Kind == yaml.AliasNode {
			walk(n.Alias, depth+1)
			return
		}
		for _, x := range n.Content {
			walk(x, depth+1)
		}
	}
	walk(n, 0)
	return c
}
