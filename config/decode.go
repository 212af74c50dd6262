package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder walks a YAML node tree into Go values strictly: every unknown key,
// wrong type or unparsable scalar becomes an Error with its line and dotted
// path, and decoding goes on so that all problems are reported at once.
//
// yaml.v3's KnownFields only works through Decoder.Decode and is silently lost
// under node.Decode, and it stops at a type error; walking the nodes ourselves
// avoids both traps and records the line of every path for later validation.
type decoder struct {
	file  string
	kinds Kinds
	// max bounds the values and keys visited (maxNodes when 0).
	max   int
	errs  Errors
	lines map[string]int
	// seen records every dotted path written in the file.
	seen  map[string]bool
	nodes int // values and keys visited, aliases expanded: bounded against alias bombs
	over  bool
	// dropped counts errors beyond MaxErrors, reported as one line.
	dropped int
	// owners caches which kinds have each spec key.
	owners map[string][]string
}

// maxNodes bounds the values and keys one config may expand to, every
// visit through an alias counted, so that decoding any file of at most
// MaxFileBytes costs bounded time and memory.
const maxNodes = 100000

// scalarDecoder is implemented by config types that parse themselves from one
// YAML scalar (durations, byte sizes).
type scalarDecoder interface {
	decodeScalar(s string) error
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	if d.full() {
		return
	}
	d.errs = append(d.errs, Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// full reports whether MaxErrors errors are already kept; it counts the
// error it stands for as dropped.
func (d *decoder) full() bool {
	if len(d.errs) < MaxErrors {
		return false
	}
	d.dropped++
	return true
}

// visit counts one value or key; it reports false once the budget is spent
// (after reporting that once).
func (d *decoder) visit(line int, path string) bool {
	if d.over {
		return false
	}
	limit := d.max
	if limit == 0 {
		limit = maxNodes
	}
	if d.nodes++; d.nodes > limit {
		d.over = true
		// First, whatever else was found: it explains the rest.
		d.errs = append(Errors{{File: d.file, Line: line, Path: path,
			Msg: fmt.Sprintf("the file expands to more than %d values (aliases repeating a large anchor?); decoding stopped", limit)}}, d.errs...)
		return false
	}
	return true
}

// JoinPath returns the dotted path of key under base ("" is the root), as
// errors name a key: "wifi.connect_test.ssid".
func JoinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// decode fills v (a settable value) from n; path is the dotted path of n.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if !d.visit(n.Line, path) {
		return
	}
	if _, ok := d.lines[path]; !ok {
		d.lines[path] = n.Line
	}
	d.seen[path] = true
	if n.Tag == "!!null" && n.Kind == yaml.ScalarNode {
		return // "key:" with no value keeps the default
	}
	if v.Type() == nodeType { // kept as it is (a fragment checked later), its subtree counted
		if d.subtree(n, path, 0) {
			v.Set(reflect.ValueOf(n))
		}
		return
	}
	switch v.Addr().Interface().(type) {
	case *Target:
		d.decodeTarget(n, v.Addr().Interface().(*Target), path)
		return
	case *Standard:
		d.decodeStandard(n, v.Addr().Interface().(*Standard), path)
		return
	}
	if sd, ok := v.Addr().Interface().(scalarDecoder); ok {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, path, "expected a single value, got %s", NodeKind(n))
			return
		}
		if err := sd.decodeScalar(n.Value); err != nil {
			d.errorf(n.Line, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		d.decode(n, nv.Elem(), path)
		v.Set(nv)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, path, "expected a list, got %s", NodeKind(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, path, "expected a mapping, got %s", NodeKind(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			p := JoinPath(path, k.Value)
			if !d.visit(k.Line, p) {
				return
			}
			if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
				d.errorf(k.Line, p, "duplicate key")
				continue
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, p)
			m.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
		v.Set(m)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	d.decodeFields(n, path, []reflect.Value{v}, func(k *yaml.Node, p string, names []string) {
		d.unknownKey(k, p, names)
	})
}

var nodeType = reflect.TypeOf((*yaml.Node)(nil))

// subtree counts the values of n's subtree (through aliases) against the
// budget, nested at most 100 deep; it reports false once the budget is spent.
func (d *decoder) subtree(n *yaml.Node, path string, depth int) bool {
	if depth > 100 {
		return d.visit(n.Line, path) && false
	}
	if n.Kind == yaml.AliasNode {
		return d.subtree(n.Alias, path, depth+1)
	}
	for _, c := range n.Content {
		if !d.visit(c.Line, path) || !d.subtree(c, path, depth+1) {
			return false
		}
	}
	return true
}

// Strict decodes other YAML files of wardprobe's (the estate inventory) as
// strictly as configs: every unknown key (with a "did you mean"), wrong type
// or unparsable value is an Error at its line and dotted path, decoding goes
// on so that all are reported at once, aliases count against MaxNodes, and
// fields of type *yaml.Node are kept as they are.
type Strict struct {
	// File names the file in errors.
	File string
	// MaxNodes bounds the values and keys visited, every visit through an
	// alias counted (100,000 when 0).
	MaxNodes int
}

// Decode decodes root (a parsed document) into v, a pointer to a struct. It
// returns the line of every dotted path written in the file, the errors in
// line order (at most MaxErrors of them) and how many more were found.
func (s Strict) Decode(root *yaml.Node, v any) (lines map[string]int, errs Errors, dropped int) {
	d := &decoder{file: s.File, max: s.MaxNodes, lines: map[string]int{}, seen: map[string]bool{}}
	d.decode(root, reflect.ValueOf(v).Elem(), "")
	sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
	return d.lines, d.errs, d.dropped
}

// sectionOf returns the top-level section whose keys include key ("" if none).
func sectionOf(key string) string {
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		ft := t.Field(i).Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(Target{}) && slices.Contains(yamlKeys(ft), key) {
			return strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		}
	}
	return ""
}

// unknownKey reports a key no struct has, with a "did you mean" when one of
// names is close.
func (d *decoder) unknownKey(k *yaml.Node, p string, names []string) {
	if d.full() {
		return // no suggestion worked out for an error not shown
	}
	msg := "unknown key"
	if s, ok := commonMistakes()[k.Value]; ok && slices.Contains(names, s) {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if s := suggest(k.Value, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if section := sectionOf(k.Value); section != "" && !strings.Contains(p, ".") && !strings.Contains(p, "[") {
		msg += fmt.Sprintf(" at the top level: %s belongs under %s: (indent it by two spaces below %s:)", k.Value, section, section)
	}
	d.errorf(k.Line, p, "%s", msg)
}

// decodeFields decodes the mapping n into the fields of the structs vs (a
// key goes to the first struct that has it); keys none has go to unknown
// with the names of every field.
func (d *decoder) decodeFields(n *yaml.Node, path string, vs []reflect.Value, unknown func(k *yaml.Node, p string, names []string)) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "expected a mapping, got %s", NodeKind(n))
		return
	}
	type field struct {
		v   reflect.Value
		idx int
	}
	fields := map[string]field{}
	var names []string
	for _, v := range vs {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			if _, dup := fields[tag]; !dup {
				fields[tag] = field{v, i}
				names = append(names, tag)
			}
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := JoinPath(path, k.Value)
		if !d.visit(k.Line, p) {
			return
		}
		f, ok := fields[k.Value]
		if !ok {
			unknown(k, p, names)
			continue
		}
		if seen[k.Value] {
			d.errorf(k.Line, p, "duplicate key")
			continue
		}
		seen[k.Value] = true
		d.lines[p] = k.Line
		d.decode(val, f.v.Field(f.idx), p)
	}
}

// decodeTarget decodes one target: the common keys into t, the kind's own
// keys into a new Spec of its kind. A key of another kind is an error
// because it is written in the file, whatever its value.
func (d *decoder) decodeTarget(n *yaml.Node, t *Target, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "expected a mapping, got %s", NodeKind(n))
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, val := n.Content[i], n.Content[i+1]; k.Value == "kind" && val.Kind == yaml.ScalarNode {
			t.Kind = val.Value
		}
	}
	vs := []reflect.Value{reflect.ValueOf(t).Elem()}
	kind, known := d.kinds.find(t.Kind)
	if known {
		t.Spec = kind.NewSpec()
		vs = append(vs, reflect.ValueOf(t.Spec).Elem())
	}
	d.decodeFields(n, path, vs, func(k *yaml.Node, p string, names []string) {
		owners := d.keyOwners(k.Value)
		switch {
		case len(owners) > 0 && known:
			d.errorf(k.Line, p, "is not used by kind %q (only by %s)", t.Kind, strings.Join(owners, ", "))
		case len(owners) > 0:
			// The kind is missing or unknown, which is reported; the key is fine for some kind.
		case known:
			d.unknownKey(k, p, names)
		case len(d.errs) >= MaxErrors:
			d.dropped++
		default:
			all := slices.Clone(names)
			d.keyOwners("")
			for key := range d.owners {
				all = append(all, key)
			}
			slices.Sort(all[len(names):])
			d.unknownKey(k, p, all)
		}
	})
}

// keyOwners returns the kinds whose spec has key.
func (d *decoder) keyOwners(key string) []string {
	if d.owners == nil {
		d.owners = map[string][]string{}
		for _, k := range d.kinds {
			for _, key := range k.keys() {
				d.owners[key] = append(d.owners[key], k.Name)
			}
		}
	}
	return d.owners[key]
}

// decodeStandard decodes a standard: each key a threshold of the table,
// each value a finite number.
func (d *decoder) decodeStandard(n *yaml.Node, s *Standard, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "expected a mapping, got %s", NodeKind(n))
		return
	}
	var keys []string
	for _, t := range Thresholds() {
		keys = append(keys, t.Key)
	}
	*s = Standard{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := JoinPath(path, k.Value)
		if !d.visit(k.Line, p) {
			return
		}
		d.lines[p] = k.Line
		if _, ok := threshold(k.Value); !ok {
			d.unknownKey(k, p, keys)
			continue
		}
		if _, dup := (*s)[k.Value]; dup {
			d.errorf(k.Line, p, "duplicate key")
			continue
		}
		var f float64
		d.decode(val, reflect.ValueOf(&f).Elem(), p)
		(*s)[k.Value] = f
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, path, "expected a single value, got %s", NodeKind(n))
		return
	}
	s := n.Value
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			d.errorf(n.Line, path, "%q is not true or false", s)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			d.errorf(n.Line, path, "%q is not a whole number", s)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n.Line, path, "%q is not a finite number", s)
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n.Line, path, "unsupported type %s", v.Type())
	}
}

// NodeKind describes a YAML node for an error: "a mapping", "a list" or
// the scalar's value, quoted.
func NodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// suggest returns the candidate closest to s by edit distance, if close enough
// to be a likely typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if dd := editDistance(s, c); dd < bestD {
			best, bestD = c, dd
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
