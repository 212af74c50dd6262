package config

import (
	"fmt"
	"reflect"
	"strings"
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
				p = joinPath(path, key)
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
			walkSecrets(v.MapIndex(k), joinPath(path, fmt.Sprint(k.Interface())), out)
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
