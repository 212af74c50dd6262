package config

import (
	"fmt"
	"reflect"
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
	errs  Errors
	lines map[string]int
	nodes int // nodes visited, bounded against alias expansion bombs
}

// maxNodes bounds the nodes one config may expand to (aliases included).
const maxNodes = 100000

// scalarDecoder is implemented by config types that parse themselves from one
// YAML scalar (durations, byte sizes).
type scalarDecoder interface {
	decodeScalar(s string) error
}

func (d *decoder) errorf(line int, path, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func joinPath(base, key string) string {
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
	if d.nodes++; d.nodes == maxNodes {
		d.errorf(n.Line, path, "config expands to more than %d values (alias loop?)", maxNodes)
	}
	if d.nodes >= maxNodes {
		return
	}
	d.lines[path] = n.Line
	if n.Tag == "!!null" && n.Kind == yaml.ScalarNode {
		return // "key:" with no value keeps the default
	}
	if sd, ok := v.Addr().Interface().(scalarDecoder); ok {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, path, "expected a single value, got %s", kindName(n))
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
			d.errorf(n.Line, path, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, path, "expected a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
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
