// Package config holds wardprobe's configuration types, their defaults, strict
// YAML loading and validation. Every problem in a file is reported, each as
// "FILE:LINE: dotted.path: message".
package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a config file.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e Error) Error() string {
	path := e.Path
	if path == "" {
		path = "(top)"
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, path, e.Msg)
}

// Errors is every problem found in a config file, in line order.
type Errors []Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// MaxFileBytes bounds the size of a config file.
const MaxFileBytes = 1 << 20

// MaxErrors bounds the errors reported for one file; the rest are counted
// in a last line.
const MaxErrors = 100

// Load reads, decodes, defaults and validates the config file at path,
// whose targets may be of kinds. A returned error is either an I/O error or
// an Errors listing every problem.
func Load(path string, kinds Kinds) (*Config, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer (a reload
	// would hang); it is then refused as not a regular file.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading config %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, Errors{{File: path, Line: 1, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileBytes)}}
	}
	return Parse(path, data, kinds)
}

// Parse decodes, defaults and validates a config held in data; file names it
// in error messages.
func Parse(file string, data []byte, kinds Kinds) (*Config, error) {
	root, err := parseYAML(file, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{file: file, kinds: kinds, lines: map[string]int{}, seen: map[string]bool{}}
	cfg := &Config{File: file, lines: d.lines}
	if root.Kind == 0 || (root.Kind == yaml.DocumentNode && len(root.Content) == 0) {
		d.errorf(1, "", "config is empty")
		return nil, d.errs
	}
	d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	if d.over {
		return nil, withDropped(d.errs, d.dropped)
	}
	applyDefaults(cfg, kinds)
	v := &validator{cfg: cfg, kinds: kinds, seen: d.seen}
	v.config(cfg)
	errs := append(d.errs, v.errs...)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		dropped := d.dropped + max(len(errs)-MaxErrors, 0)
		return nil, withDropped(errs[:min(len(errs), MaxErrors)], dropped)
	}
	return cfg, nil
}

// withDropped adds a last line counting the errors not listed.
func withDropped(errs Errors, dropped int) Errors {
	if dropped == 0 {
		return errs
	}
	last := errs[len(errs)-1]
	return append(errs, Error{File: last.File, Line: last.Line, Msg: fmt.Sprintf("and %d more errors", dropped)})
}

// parseYAML parses data as exactly one YAML document.
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && err != io.EOF {
		return nil, Errors{yamlSyntaxError(file, data, err)}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		return nil, Errors{yamlSyntaxError(file, data, err)}
	default:
		line := next.Line
		if len(next.Content) > 0 {
			line = next.Content[0].Line
		}
		return nil, Errors{{File: file, Line: max(line-1, 1), Msg: "a second YAML document (after ---) is not allowed: a config is one document"}}
	}
	return &root, nil
}

// yamlSyntaxError turns a yaml.v3 parse error ("yaml: line 3: ...") into an
// Error in plain words.
func yamlSyntaxError(file string, data []byte, err error) Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if strings.HasPrefix(msg, "line ") {
		var n int
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &n); scanErr == nil {
			line = n
			if i := strings.Index(msg, ":"); i >= 0 {
				msg = strings.TrimSpace(msg[i+1:])
			}
		}
	}
	if hl, hint, ok := syntaxHint(data); ok {
		return Error{File: file, Line: hl, Msg: "invalid YAML: " + hint}
	}
	return Error{File: file, Line: line, Msg: "invalid YAML near here: " + msg}
}
