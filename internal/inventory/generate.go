package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe/kinds"
)

func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

// fragmentAt is a config fragment and its path in the inventory.
type fragmentAt struct {
	path string
	node *yaml.Node
}

// keyOrder is the order top-level config keys are written in; others follow
// in the order they first appear.
var keyOrder = []string{"standards", "wifi", "targets", "throughput", "push"}

// tree is a generated config as a YAML node tree, with the inventory path
// and line every node came from.
type tree struct {
	root  *yaml.Node
	paths map[*yaml.Node]string
	v     *validator
}

func (t *tree) scalar(value, tag, invPath string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value, Line: t.v.line(invPath)}
	t.paths[n] = invPath
	return n
}

func (t *tree) mapping(invPath string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: t.v.line(invPath)}
	t.paths[n] = invPath
	return n
}

func (t *tree) set(m *yaml.Node, key string, val *yaml.Node) {
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: val.Line}
	t.paths[k] = t.paths[val]
	m.Content = append(m.Content, k, val)
}

// copyNode deep-copies n, resolving aliases and dropping comments, and
// records the inventory path of every copy. It returns nil once the copy
// budget is spent.
func (t *tree) copyNode(n *yaml.Node, path string) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if t.v.copied++; t.v.copied > MaxCopiedNodes {
		return nil
	}
	c := &yaml.Node{Kind: n.Kind, Style: n.Style &^ (yaml.TaggedStyle), Tag: n.Tag, Value: n.Value, Line: n.Line, Column: n.Column}
	if c.Tag == "!!merge" {
		c.Tag = "!!str"
	}
	t.paths[c] = path
	for i, x := range n.Content {
		p := path
		switch n.Kind {
		case yaml.SequenceNode:
			p = fmt.Sprintf("%s[%d]", path, i)
		case yaml.MappingNode:
			if i%2 == 1 {
				p = joinPath(path, n.Content[i-1].Value)
			} else {
				p = joinPath(path, x.Value)
			}
		}
		cc := t.copyNode(x, p)
		if cc == nil {
			return nil
		}
		c.Content = append(c.Content, cc)
	}
	return c
}

// generate builds one probe's config: probe and location from the
// inventory, the standard, and the config fragments merged key by key (a
// later fragment's top-level key replaces an earlier one's). The result is
// checked with config.Parse; its errors are reported at the inventory lines
// the offending values came from.
func (v *validator) generate(pp, wp string, p ProbeSpec, standard, standardPath string, frags []fragmentAt) ([]byte, []string) {
	t := &tree{paths: map[*yaml.Node]string{}, v: v}
	t.root = t.mapping(pp)
	probe := t.mapping(pp + ".name")
	t.set(probe, "name", t.scalar(p.Name, "!!str", pp+".name"))
	t.set(t.root, "probe", probe)
	loc := t.mapping(pp)
	for _, f := range []struct{ key, val, path string }{
		{"site", p.Site, strings.SplitN(pp, ".", 2)[0] + ".name"},
		{"building", p.Building, pp[:strings.Index(pp, ".floors")] + ".name"},
		{"floor", p.Floor, pp[:strings.Index(pp, ".wards")] + ".name"},
		{"ward", p.Ward, wp + ".name"},
		{"spot", p.Spot, pp + ".spot"},
	} {
		if f.val != "" {
			t.set(loc, f.key, t.scalar(f.val, "!!str", f.path))
		}
	}
	if p.X != nil && p.Y != nil {
		t.set(loc, "x", t.scalar(strconv.FormatFloat(*p.X, 'g', -1, 64), "!!float", pp+".x"))
		t.set(loc, "y", t.scalar(strconv.FormatFloat(*p.Y, 'g', -1, 64), "!!float", pp+".y"))
	}
	t.set(t.root, "location", loc)
	if standard != "" {
		t.set(t.root, "standard", t.scalar(standard, "!!str", standardPath))
	}
	// Merge the fragments by top-level key.
	merged := map[string]*yaml.Node{}
	var order []string
	for _, f := range frags {
		n := f.node
		if n == nil {
			continue
		}
		for n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, ok := reserved[k]; ok {
				continue
			}
			c := t.copyNode(n.Content[i+1], joinPath(f.path, k))
			if c == nil {
				v.errorf(pp, "the generated configs would copy more than %d values: the config fragments are too large", MaxCopiedNodes)
				return nil, nil
			}
			keyNode := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: n.Content[i].Line}
			t.paths[keyNode] = joinPath(f.path, k)
			if _, seen := merged[k]; !seen {
				order = append(order, k)
			}
			merged[k] = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{keyNode, c}}
		}
	}
	rank := func(k string) int {
		for i, o := range keyOrder {
			if o == k {
				return i
			}
		}
		return len(keyOrder)
	}
	sort.SliceStable(order, func(i, j int) bool { return rank(order[i]) < rank(order[j]) })
	for _, k := range order {
		t.root.Content = append(t.root.Content, merged[k].Content...)
	}

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# wardprobe config of probe %s, generated by `wardprobe inventory %s`.\n# Do not edit: change the inventory and generate again.\n", p.Name, filepath.Base(v.file))
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(t.root); err != nil {
		v.errorf(pp, "generating the config: %v", err)
		return nil, nil
	}
	enc.Close()
	out := buf.Bytes()
	if _, err := kinds.Parse(p.Name, out); err != nil {
		var cerrs config.Errors
		if !errors.As(err, &cerrs) {
			v.errorf(pp, "generated config: %v", err)
			return out, nil
		}
		for _, e := range cerrs {
			if strings.HasPrefix(e.Path, "probe.") || strings.HasPrefix(e.Path, "location.") {
				continue // the inventory checks names and positions itself
			}
			n := t.find(e.Path)
			path := t.paths[n]
			line := n.Line
			if path == "" {
				path = pp
			}
			if line == 0 {
				line = v.line(path)
			}
			v.configError(config.Error{File: v.file, Line: line, Path: path, Msg: e.Msg}, p.Name, e.Path)
		}
	}
	return out, configFiles(t.root)
}

// find returns the node at a config path ("targets[2].interval"), or the
// deepest node on the way there.
func (t *tree) find(path string) *yaml.Node {
	n := t.root
	if path == "" {
		return n
	}
	for _, seg := range splitPath(path) {
		var next *yaml.Node
		switch {
		case strings.HasPrefix(seg, "["):
			i, err := strconv.Atoi(strings.Trim(seg, "[]"))
			if err == nil && n.Kind == yaml.SequenceNode && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		case n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg {
					next = n.Content[i+1]
				}
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

// splitPath splits "a.b[2].c" into a, b, [2], c.
func splitPath(p string) []string {
	var segs []string
	for _, part := range strings.Split(p, ".") {
		for part != "" {
			i := strings.Index(part, "[")
			switch {
			case i < 0:
				segs = append(segs, part)
				part = ""
			case i == 0:
				j := strings.Index(part, "]")
				if j < 0 {
					segs = append(segs, part)
					part = ""
					continue
				}
				segs = append(segs, part[:j+1])
				part = part[j+1:]
			default:
				segs = append(segs, part[:i])
				part = part[i:]
			}
		}
	}
	return segs
}

// configError records a problem found in a generated config, once per
// inventory place: a fragment shared by many probes gives one error naming
// the first probe and how many share it.
func (v *validator) configError(e config.Error, probe, cfgPath string) {
	e.Msg = fmt.Sprintf("%s (config key %s of probe %s)", e.Msg, orTop(cfgPath), probe)
	for i := range v.errs.errs {
		x := &v.errs.errs[i]
		if x.Line == e.Line && x.Path == e.Path && strings.HasPrefix(x.Msg, e.Msg[:strings.Index(e.Msg, " (config key")]+" (config key") {
			if !strings.HasSuffix(x.Msg, "more)") {
				x.Msg = strings.TrimSuffix(x.Msg, ")") + ", and 1 more)"
			} else {
				var n int
				head := x.Msg[:strings.LastIndex(x.Msg, ", and ")]
				fmt.Sscanf(x.Msg[len(head):], ", and %d more)", &n)
				x.Msg = fmt.Sprintf("%s, and %d more)", head, n+1)
			}
			return
		}
	}
	v.errs.add(e)
}

func orTop(p string) string {
	if p == "" {
		return "(top)"
	}
	return p
}

// configFiles lists the absolute paths the config names under keys ending in
// "_file", sorted and without duplicates.
func configFiles(root *yaml.Node) []string {
	set := map[string]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, val := n.Content[i], n.Content[i+1]
				if strings.HasSuffix(k.Value, "_file") && val.Kind == yaml.ScalarNode && strings.HasPrefix(val.Value, "/") {
					set[val.Value] = true
				}
				walk(val)
			}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
