// Package secret keeps credentials out of every output. It reads
// credentials from files (as Prometheus' password_file does), and its
// Redactor removes every credential it has seen, and the credentials of any
// URL, from text bound for logs, errors, pages, metrics and HTTP responses.
package secret

import (
	"fmt"
	"html"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// MaxFileBytes bounds a credential file.
const MaxFileBytes = 64 << 10

// Mask replaces a credential in output.
const Mask = "<secret>"

// ReadFile returns the credential held in the file at path, without a
// trailing newline. The file must be a regular file of at most
// MaxFileBytes; an empty file is an error. Errors name the path, never the
// content.
func ReadFile(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		return "", fmt.Errorf("reading credential file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("reading credential file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("credential file %s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading credential file %s: %w", path, err)
	}
	if len(b) > MaxFileBytes {
		return "", fmt.Errorf("credential file %s is larger than %d bytes", path, MaxFileBytes)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("credential file %s is empty", path)
	}
	return s, nil
}

// MaxPEMBytes bounds a certificate or key file read with ReadRegular.
const MaxPEMBytes = 8 << 20

// ReadRegular returns the content of the regular file at path, of at most
// limit bytes: a FIFO, a device or a directory is refused at once (it is
// opened O_NONBLOCK, so a FIFO without a writer cannot hang a reload or
// check-config). Errors from opening the file are those of os.OpenFile.
func ReadRegular(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// sensitiveQuery matches query parameter names that carry credentials.
var sensitiveQuery = regexp.MustCompile(`(?i)^(.*token.*|.*secret.*|.*pass.*|.*pwd.*|.*key|.*auth.*|sig|signature|session.*|code|.*jwt.*|.*credential.*)$`)

// URL returns u with its password and the values of credential-like query
// parameters (token, secret, password, key, auth, sig, ...) masked. A URL
// that does not parse is masked whole.
func URL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return Mask
	}
	if p.User != nil {
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), "xxxxx")
		}
	}
	if p.RawQuery != "" {
		q := p.Query()
		for k, vs := range q {
			if sensitiveQuery.MatchString(k) && slices.ContainsFunc(vs, func(v string) bool { return v != "" }) {
				q[k] = []string{"xxxxx"} // an empty value (one already masked, say) stays empty
			}
		}
		p.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(p.String(), "xxxxx", Mask)
}

// Redactor removes credentials from text. It knows the credentials read
// through it and masks URL passwords and token-like query values wherever
// they appear. It is safe for concurrent use.
type Redactor struct {
	mu     sync.RWMutex
	values []string
}

// urlInText finds URLs with credentials in free text.
var urlInText = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)

// AddURL makes r mask the credentials of the URL u (its password and the
// values of credential-like query parameters) wherever they appear, even
// where the URL is quoted only in part (a relative redirect, say).
func (r *Redactor) AddURL(u string) {
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return
	}
	if pw, ok := p.User.Password(); ok {
		r.Add(pw)
		r.Add(url.PathEscape(pw))
	}
	for k, vs := range p.Query() {
		if sensitiveQuery.MatchString(k) {
			for _, v := range vs {
				r.Add(v)
				r.Add(url.QueryEscape(v))
			}
		}
	}
}

// userinfoInText finds user:password@ in free text, with or without a scheme.
var userinfoInText = regexp.MustCompile(`([A-Za-z0-9._~%!$&'()*+,;=-]+):([^\s@/:"'<>]+)@`)

// queryInText finds query parameters in free text (a relative URL, say).
var queryInText = regexp.MustCompile(`[?&][A-Za-z_][A-Za-z0-9_.-]*=[^\s&"'<>#]+`)

// Add makes r mask v wherever it appears (values shorter than 4 bytes are
// not masked: they would mangle ordinary text).
func (r *Redactor) Add(v string) {
	if len(v) < 4 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.values, v) {
		r.values = append(r.values, v)
		// Longest first, so that a credential containing another is masked whole.
		slices.SortFunc(r.values, func(a, b string) int { return len(b) - len(a) })
	}
}

// ReadFile reads a credential file (see ReadFile) and adds its content to r.
func (r *Redactor) ReadFile(path string) (string, error) {
	v, err := ReadFile(path)
	if err == nil {
		r.Add(v)
	}
	return v, err
}

// String returns s with every known credential and every URL credential masked.
func (r *Redactor) String(s string) string {
	if r != nil {
		r.mu.RLock()
		for _, v := range r.values {
			s = strings.ReplaceAll(s, v, Mask)
		}
		r.mu.RUnlock()
	}
	if strings.Contains(s, "://") {
		s = urlInText.ReplaceAllStringFunc(s, func(u string) string {
			// A URL quoted in a JSON or logfmt string ends with the
			// backslash that escapes its closing quote: keep it out of
			// the URL, or the re-encoded URL (%5C) would unescape the
			// quote and break the record.
			trimmed := strings.TrimRight(u, `\`)
			if !strings.ContainsAny(trimmed, "@?") {
				return u
			}
			return URL(trimmed) + u[len(trimmed):]
		})
	}
	if strings.Contains(s, "@") {
		// user:password@host written without a scheme (a tcp address, say).
		s = userinfoInText.ReplaceAllString(s, "${1}:"+Mask+"@")
	}
	if strings.Contains(s, "=") {
		s = queryInText.ReplaceAllStringFunc(s, func(q string) string {
			k, _, _ := strings.Cut(q[1:], "=")
			if !sensitiveQuery.MatchString(k) {
				return q
			}
			return q[:1] + k + "=" + Mask
		})
	}
	return s
}

// HTML returns an HTML page with every known credential masked, in its
// plain and its HTML-escaped form, as &lt;secret&gt;. It rewrites no URLs:
// text from outside the config reaches a page through String before the
// template escapes it, so the page's own escaping is left as it is.
func (r *Redactor) HTML(page string) string {
	if r == nil {
		return page
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	masked := html.EscapeString(Mask)
	for _, v := range r.values {
		page = strings.ReplaceAll(page, v, masked)
		if e := html.EscapeString(v); e != v {
			page = strings.ReplaceAll(page, e, masked)
		}
	}
	return page
}

// Error returns err with its text redacted, keeping errors.Is and As working.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	s := r.String(err.Error())
	if s == err.Error() {
		return err
	}
	return &redacted{msg: s, err: err}
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// Writer returns a writer that redacts each write to w (log output: each
// write is one whole line or record).
func (r *Redactor) Writer(w io.Writer) io.Writer { return redactWriter{r, w} }

type redactWriter struct {
	r *Redactor
	w io.Writer
}

func (rw redactWriter) Write(p []byte) (int, error) {
	s := rw.r.String(string(p))
	if _, err := io.WriteString(rw.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// StripURL returns u without user information, query and fragment: the form
// of a URL fit for a metric label, where even a masked credential is noise.
func StripURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User, p.RawQuery, p.ForceQuery, p.Fragment, p.RawFragment = nil, "", false, "", ""
	return p.String()
}
