package config

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// SecretFiles returns every SecretFile the config names, by the dotted path
// of its key, target specs included, in file order.
func (c *Config) SecretFiles() []PathFile {
	var out []PathFile
	walkSecrets(reflect.ValueOf(c).Elem(), "", &out)
	return out
}

// PathFile is a SecretFile and the dotted path of its key.
type PathFile struct {
	Path string
	File SecretFile
}

func walkSecrets(v reflect.Value, path string, out *[]PathFile) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkSecrets(v.Elem(), path, out)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			key := strings.Split(f.Tag.Get("yaml"), ",")[0]
			p := path
			if key != "" && key != "-" {
				p = JoinPath(path, key)
			}
			if f.Type == reflect.TypeOf(SecretFile("")) {
				if s := SecretFile(v.Field(i).String()); s != "" {
					*out = append(*out, PathFile{p, s})
				}
				continue
			}
			walkSecrets(v.Field(i), p, out)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walkSecrets(v.MapIndex(k), JoinPath(path, fmt.Sprint(k.Interface())), out)
		}
	}
}

// Strings returns every string value the config holds (URLs among them),
// target specs included.
func (c *Config) Strings() []string {
	var out []string
	walkStrings(reflect.ValueOf(c).Elem(), &out)
	return out
}

func walkStrings(v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); s != "" {
			*out = append(*out, s)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				walkStrings(v.Field(i), out)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), out)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walkStrings(v.MapIndex(k), out)
		}
	}
}

// YAML returns the config in force as YAML, defaults filled in and each
// target's own keys beside its common ones: what the landing page's config
// view shows (after redaction, see MaskedYAML).
func (c *Config) YAML() ([]byte, error) { return c.MaskedYAML(nil) }

// MaskedYAML is YAML with every string value passed through mask (a
// redactor's) before it is quoted for YAML: a credential is masked as it
// was written, not in its YAML-quoted form (a quote doubled), which no redactor
// run on the output would recognise. A nil mask masks nothing.
func (c *Config) MaskedYAML(mask func(string) string) ([]byte, error) {
	var root yaml.Node
	if err := root.Encode(c); err != nil {
		return nil, err
	}
	// Replace the targets, whose Spec the struct encoding leaves out.
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "targets" {
			continue
		}
		var list yaml.Node
		list.Kind = yaml.SequenceNode
		for _, t := range c.Targets {
			var n yaml.Node
			if err := n.Encode(t); err != nil {
				return nil, err
			}
			if t.Spec != nil {
				var spec yaml.Node
				if err := spec.Encode(t.Spec); err != nil {
					return nil, err
				}
				n.Content = append(n.Content, spec.Content...)
			}
			list.Content = append(list.Content, &n)
		}
		root.Content[i+1] = &list
	}
	prune(&root)
	if mask != nil {
		maskScalars(&root, mask)
	}
	return yaml.Marshal(&root)
}

// maskScalars passes the value of every string scalar under n through mask.
func maskScalars(n *yaml.Node, mask func(string) string) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		n.Value = mask(n.Value)
	}
	for _, c := range n.Content {
		maskScalars(c, mask)
	}
}

// prune drops keys whose value is null, empty text or an empty list: what
// the file could leave out.
func prune(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			v := n.Content[i+1]
			prune(v)
			if v.Tag == "!!null" || (v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value == "") ||
				(v.Kind == yaml.SequenceNode || v.Kind == yaml.MappingNode) && len(v.Content) == 0 {
				continue
			}
			kept = append(kept, n.Content[i], v)
		}
		n.Content = kept
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			prune(c)
		}
	}
}
