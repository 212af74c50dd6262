package inventory

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wardprobe/wardprobe/config"
)

// decoder walks a YAML node tree into the inventory types strictly, as the
// config package does (config/decode.go): every unknown key, wrong type or
// unparsable value is an Error with its line and dotted path, and decoding
// goes on so that every problem is reported at once. yaml.v3's KnownFields
// is lost under node.Decode, hence the walk. Fields of type *yaml.Node are
// kept as they are (the config fragments, checked later by the config
// package); aliases are resolved and count towards the node budget.
type decoder struct {
	file  string
	errs  *errorList
	lines map[string]int
	nodes int
}

// MaxNodes bounds the YAML nodes one inventory may expand to, aliases
// included: about 40 per probe, so 10,000 probes fit with room to spare.
const MaxNodes = 1_000_000

var nodeType = reflect.TypeOf((*yaml.Node)(nil))

func joinPath(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// budget counts n and its whole subtree (through aliases) against MaxNodes;
// it returns false once the budget is spent (reported once).
func (d *decoder) budget(n *yaml.Node, path string) bool {
	var walk func(n *yaml.Node, depth int) bool
	walk = func(n *yaml.Node, depth int) bool {
		if d.nodes++; d.nodes > MaxNodes || depth > 100 {
			return false
		}
		if n.Kind == yaml.AliasNode {
			return walk(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			if !walk(c, depth+1) {
				return false
			}
		}
		return true
	}
	if d.nodes > MaxNodes {
		return false
	}
	if !walk(n, 0) {
		d.nodes = MaxNodes + 1
		d.errs.add(config.Error{File: d.file, Line: n.Line, Path: path,
			Msg: fmt.Sprintf("the inventory expands to more than %d values or nests deeper than 100 (alias loop?)", MaxNodes)})
		return false
	}
	return true
}

// decode fills v (settable) from n; path is n's dotted path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if d.nodes > MaxNodes {
		return
	}
	d.lines[path] = n.Line
	if v.Type() == nodeType {
		if d.budget(n, path) {
			v.Set(reflect.ValueOf(n))
		}
		return
	}
	if d.nodes++; d.nodes > MaxNodes {
		d.budget(n, path) // reports
		return
	}
	if n.Tag == "!!null" && n.Kind == yaml.ScalarNode {
		return // "key:" with no value keeps the zero value
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
			d.errorf(n.Line, path, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs.add(config.Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "expected a mapping, got %s", kindName(n))
		return
	}
	fields := map[string]int{}
	var names []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		p := joinPath(path, k.Value)
		idx, ok := fields[k.Value]
		if !ok {
			msg := "unknown key"
			if s := suggest(k.Value, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errorf(k.Line, p, "%s", msg)
			continue
		}
		if seen[k.Value] {
			d.errorf(k.Line, p, "duplicate key")
			continue
		}
		seen[k.Value] = true
		d.decode(val, v.Field(idx), p)
		d.lines[p] = k.Line
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, path, "expected a single value, got %s", kindName(n))
		return
	}
	s := n.Value
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int:
		i, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			d.errorf(n.Line, path, "%q is not a whole number", s)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			d.errorf(n.Line, path, "%q is not a number", s)
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n.Line, path, "unsupported type %s", v.Type())
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// suggest returns the candidate closest to s by edit distance, if close
// enough to be a likely typo.
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
