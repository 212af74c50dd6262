package push

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/wardprobe/wardprobe/exporters/push/queue"
)

// Remote write 1.0 request headers
// (https://prometheus.io/docs/specs/prw/remote_write_spec/).
const (
	contentType     = "application/x-protobuf"
	contentEncoding = "snappy"
	versionHeader   = "X-Prometheus-Remote-Write-Version"
	version         = "0.1.0"
)

// maxRetryAfter caps a receiver's Retry-After, so a wrong header cannot stall
// the queue for days.
const maxRetryAfter = 10 * time.Minute

// outcome classifies one send attempt.
type outcome int

const (
	sent     outcome = iota // 2xx: the receiver took the samples
	retry                   // network error, 5xx, 429 or a 4xx that a fix on either side may cure: keep and retry
	rejected                // the receiver refuses these samples for good: drop them (or split and resend)
)

// result is what one attempt came to.
type result struct {
	outcome    outcome
	reason     string        // failure reason (a bounded set: see Pusher metrics)
	retryAfter time.Duration // from Retry-After; 0 if absent
	err        error         // for the log; never holds a secret
	bytes      int           // compressed payload bytes
}

// client sends remote write 1.0 requests to one URL.
type client struct {
	url       string
	redacted  string // the URL without user info or query, for logs
	hc        *http.Client
	timeout   time.Duration
	userAgent string

	req prompb.WriteRequest
	pb  []byte
	sz  []byte
}

// redactURL returns u without user info and query string.
func redactURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.Fragment = nil, "", ""
	return c.String()
}

// encode builds the snappy-compressed protobuf WriteRequest of samples,
// grouping them by series (samples of a series stay in queue order, which
// is timestamp order).
func (c *client) encode(samples []queue.Sample) ([]byte, error) {
	type entry struct {
		ls labels.Labels
		i  int
	}
	idx := make(map[uint64][]entry, 256) // by label hash; a collision keeps both
	c.req.Timeseries = c.req.Timeseries[:0]
	for _, s := range samples {
		h := s.Labels.Hash()
		i := -1
		for _, e := range idx[h] {
			if labels.Equal(e.ls, s.Labels) {
				i = e.i
				break
			}
		}
		if i < 0 {
			i = len(c.req.Timeseries)
			idx[h] = append(idx[h], entry{s.Labels, i})
			c.req.Timeseries = append(c.req.Timeseries, prompb.TimeSeries{Labels: prompb.FromLabels(s.Labels, nil)})
		}
		ts := &c.req.Timeseries[i]
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: s.T, Value: s.V})
	}
	n := c.req.Size()
	if cap(c.pb) < n {
		c.pb = make([]byte, n)
	}
	c.pb = c.pb[:n]
	if _, err := c.req.MarshalToSizedBuffer(c.pb); err != nil {
		return nil, fmt.Errorf("encoding write request: %w", err)
	}
	c.sz = snappy.Encode(c.sz[:cap(c.sz)], c.pb)
	// Do not keep a large backfill's buffers for ever.
	if cap(c.pb) > 1<<20 {
		c.pb = nil
	}
	if cap(c.req.Timeseries) > 4096 {
		c.req.Timeseries = nil
	}
	return c.sz, nil
}

// send sends samples once.
func (c *client) send(ctx context.Context, samples []queue.Sample) result {
	body, err := c.encode(samples)
	if err != nil {
		return result{outcome: rejected, reason: "rejected", err: err}
	}
	res := result{bytes: len(body)}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		res.outcome, res.reason, res.err = rejected, "rejected", fmt.Errorf("building request to %s: %w", c.redacted, errors.Unwrap(err))
		return res
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", contentEncoding)
	req.Header.Set(versionHeader, version)
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		res.outcome, res.reason = retry, "network"
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			res.reason = "timeout"
		}
		res.err = fmt.Errorf("sending to %s: %w", c.redacted, innermost(err))
		return res
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	return classify(res, resp.StatusCode, resp.Header.Get("Retry-After"), string(msg), c.redacted, time.Now())
}

// innermost unwraps a *url.Error (whose text repeats the URL) to its cause.
func innermost(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// classify turns a response into a result. What the remote-write spec and
// the receivers say:
//   - 2xx: taken.
//   - 5xx and 429: retry, after Retry-After if given (the spec: "MUST retry
//     ... on 5xx and MAY on 429").
//   - 400, 409, 413 and 422: these samples will never be taken (Prometheus
//     answers 400 to an out-of-order, too old or duplicate sample, Mimir and
//     VictoriaMetrics 400 to bad data; 413 is too large): drop, or split
//     and resend, counted by the reason the receiver's message names.
//   - any other status (401, 403, 404, 3xx, ...): a receiver or probe
//     misconfiguration that a fix will cure; retry with backoff so nothing
//     is lost meanwhile (bounded by max_queue_age and max_queue_bytes).
func classify(res result, status int, retryAfter, msg, url string, now time.Time) result {
	msg = strings.TrimSpace(strings.ToValidUTF8(msg, "?"))
	switch {
	case status/100 == 2:
		res.outcome = sent
		return res
	case status/100 == 5 || status == http.StatusTooManyRequests:
		res.outcome, res.reason = retry, "http_5xx"
		if status == http.StatusTooManyRequests {
			res.reason = "http_429"
		}
		res.retryAfter = parseRetryAfter(retryAfter, now)
	case status == http.StatusBadRequest || status == http.StatusConflict ||
		status == http.StatusRequestEntityTooLarge || status == http.StatusUnprocessableEntity:
		res.outcome, res.reason = rejected, rejectReason(msg)
	default:
		res.outcome, res.reason = retry, "http_4xx"
	}
	res.err = fmt.Errorf("%s answered %d: %s", url, status, msg)
	return res
}

// rejectReason names why a receiver rejected samples, from its message
// (Prometheus: "out of order sample", "out of bounds", "too old sample",
// "duplicate sample for timestamp"; Mimir: "out-of-order", "too far in the
// past"; VictoriaMetrics: "too small timestamp").
func rejectReason(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "out of order") || strings.Contains(m, "out-of-order"):
		return "out_of_order"
	case strings.Contains(m, "out of bounds") || strings.Contains(m, "too old") ||
		strings.Contains(m, "too far in the past") || strings.Contains(m, "too small timestamp"):
		return "too_old"
	case strings.Contains(m, "duplicate"):
		return "duplicate"
	}
	return "rejected"
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.Atoi(h); err == nil {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
