// Package web serves the survey page and its API (contract):
//
//	POST   /api/v1/points          {"x":0.42,"y":0.63} → the captured point
//	GET    /api/v1/points          every point, with its verdict
//	PATCH  /api/v1/points/{id}     {"x":..,"y":..} → the moved point
//	DELETE /api/v1/points/{id}     204
//	GET    /api/v1/heatmap.png?layer=primary|secondary|snr|cochannel|loss[&plan=1]
//	GET    /api/v1/notspots.csv    the not-spot register
//	GET    /api/v1/progress        the capture in progress
//	GET    /api/v1/survey          location, standard, legends, leave-one-out error
//	GET    /api/v1/report.html     the report page
//	GET    /plan                   the floor plan
//	GET    /                       the survey page
//
// Errors are JSON {"error": "..."} with a 4xx or 5xx status; request bodies
// are bounded.
package web

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/internal/survey/heatmap"
	"github.com/wardprobe/wardprobe/internal/survey/report"
	"github.com/wardprobe/wardprobe/internal/survey/store"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 4 << 10

// CaptureTimeout bounds one capture.
const CaptureTimeout = 3 * time.Minute

// Options configure a Server.
type Options struct {
	Store    *store.Store
	Capturer *survey.Capturer
	Settings store.Settings
	Params   heatmap.Params
	// Warnings are shown on the page (e.g. scans that need CAP_NET_ADMIN).
	Warnings []string
	Version  string
	Log      zerolog.Logger
	// Now reads the clock (time.Now when nil).
	Now func() time.Time
}

// Server is the survey's HTTP handler.
type Server struct {
	o       Options
	plan    store.Plan
	planPNG []byte
	mux     *http.ServeMux

	capture   sync.Mutex // held while a point is measured: one radio
	computeMu sync.Mutex // held while the layers are computed

	mu       sync.Mutex
	progress survey.Progress
	busy     bool
	version  uint64 // bumped at every change of the points
	maps     *report.Maps
	mapsAt   uint64
	pngs     map[string][]byte
}

// New returns a Server for the survey in o.Store.
func New(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	plan, err := o.Store.Plan()
	if err != nil {
		return nil, err
	}
	planPNG, err := store.EncodePlanPNG(plan)
	if err != nil {
		return nil, fmt.Errorf("encoding the floor plan: %w", err)
	}
	s := &Server{o: o, plan: plan, planPNG: planPNG, mux: http.NewServeMux(), version: 1, pngs: map[string][]byte{}}
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /plan", s.planImage)
	s.mux.HandleFunc("GET /api/v1/survey", s.info)
	s.mux.HandleFunc("GET /api/v1/points", s.list)
	s.mux.HandleFunc("POST /api/v1/points", s.add)
	s.mux.HandleFunc("PATCH /api/v1/points/{id}", s.move)
	s.mux.HandleFunc("DELETE /api/v1/points/{id}", s.remove)
	s.mux.HandleFunc("GET /api/v1/progress", s.progressJSON)
	s.mux.HandleFunc("GET /api/v1/heatmap.png", s.heatmapPNG)
	s.mux.HandleFunc("GET /api/v1/notspots.csv", s.notspots)
	s.mux.HandleFunc("GET /api/v1/report.html", s.reportHTML)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func fail(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// position is the body of POST and PATCH.
type position struct {
	X *float64 `json:"x"`
	Y *float64 `json:"y"`
}

// readPosition decodes a bounded {"x":..,"y":..} body.
func readPosition(w http.ResponseWriter, r *http.Request) (float64, float64, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(w, http.StatusRequestEntityTooLarge, "request body larger than %d bytes", MaxBodyBytes)
			return 0, 0, false
		}
		fail(w, http.StatusBadRequest, "reading the request body: %v", err)
		return 0, 0, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var p position
	if err := dec.Decode(&p); err != nil {
		fail(w, http.StatusBadRequest, `body must be JSON {"x":0..1,"y":0..1}: %v`, err)
		return 0, 0, false
	}
	if dec.More() {
		fail(w, http.StatusBadRequest, "body holds more than one JSON value")
		return 0, 0, false
	}
	if p.X == nil || p.Y == nil {
		fail(w, http.StatusBadRequest, `body must give both "x" and "y" (fractions of the plan from its top left)`)
		return 0, 0, false
	}
	if !survey.Valid(*p.X, *p.Y) {
		fail(w, http.StatusBadRequest, "position %g,%g is off the plan: x and y must be within 0..1", *p.X, *p.Y)
		return 0, 0, false
	}
	return *p.X, *p.Y, true
}

func pathID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		fail(w, http.StatusBadRequest, "point id %q is not a positive integer", r.PathValue("id"))
		return 0, false
	}
	return id, true
}

// points returns every point with its verdict.
func (s *Server) points() ([]survey.Point, error) {
	pts, err := s.o.Store.Points()
	if err != nil {
		return nil, err
	}
	report.Judge(pts, s.o.Settings)
	return pts, nil
}

func (s *Server) list(w http.ResponseWriter, _ *http.Request) {
	pts, err := s.points()
	if err != nil {
		fail(w, http.StatusInternalServerError, "reading the points: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, pts)
}

func (s *Server) changed() {
	s.mu.Lock()
	s.version++
	s.mu.Unlock()
}

func (s *Server) setProgress(p survey.Progress) {
	s.mu.Lock()
	s.progress = p
	s.mu.Unlock()
}

func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	x, y, ok := readPosition(w, r)
	if !ok {
		return
	}
	if !s.capture.TryLock() {
		fail(w, http.StatusConflict, "a point is being measured already; wait for it to finish")
		return
	}
	defer s.capture.Unlock()
	s.mu.Lock()
	s.busy, s.progress = true, survey.Progress{Phase: "scan", Detail: "starting"}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.busy = false
		s.mu.Unlock()
	}()
	// The capture goes on if the page goes away: the engineer may reload.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), CaptureTimeout)
	defer cancel()
	start := s.o.Now()
	p, err := s.o.Capturer.Capture(ctx, x, y, s.setProgress)
	if err != nil {
		s.o.Log.Warn().Err(err).Float64("x", x).Float64("y", y).Msg("survey: capture failed")
		fail(w, http.StatusServiceUnavailable, "measuring the point failed: %v", err)
		return
	}
	p, err = s.o.Store.Add(p)
	if err != nil {
		fail(w, http.StatusInternalServerError, "%v", err)
		return
	}
	s.changed()
	v := survey.Judge(p, s.o.Settings.Coverage)
	p.Verdict = &v
	s.o.Log.Info().Uint64("point", p.ID).Float64("x", x).Float64("y", y).Int("bss", len(p.BSS)).Str("state", v.State).
		Bool("met", v.Met).Stringer("took", s.o.Now().Sub(start)).Msg("survey: point captured")
	writeJSON(w, http.StatusCreated, p)
}

func (s *Server) move(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	x, y, ok := readPosition(w, r)
	if !ok {
		return
	}
	p, err := s.o.Store.Move(id, x, y)
	if errors.Is(err, store.ErrNotFound) {
		fail(w, http.StatusNotFound, "no point %d", id)
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, "moving point %d: %v", id, err)
		return
	}
	s.changed()
	v := survey.Judge(p, s.o.Settings.Coverage)
	p.Verdict = &v
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	err := s.o.Store.Delete(id)
	if errors.Is(err, store.ErrNotFound) {
		fail(w, http.StatusNotFound, "no point %d", id)
		return
	}
	if err != nil {
		fail(w, http.StatusInternalServerError, "deleting point %d: %v", id, err)
		return
	}
	s.changed()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) progressJSON(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := struct {
		Capturing bool `json:"capturing"`
		survey.Progress
	}{s.busy, s.progress}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) planImage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(s.planPNG)
}

// computed returns the layers of the current points (cached per version;
// computed without holding up the progress reports).
func (s *Server) computed() (*report.Maps, uint64, error) {
	s.computeMu.Lock()
	defer s.computeMu.Unlock()
	s.mu.Lock()
	version, m := s.version, s.maps
	fresh := m != nil && s.mapsAt == version
	s.mu.Unlock()
	if fresh {
		return m, version, nil
	}
	pts, err := s.o.Store.Points()
	if err != nil {
		return nil, 0, err
	}
	report.Judge(pts, s.o.Settings)
	m, err = report.Compute(s.reportData(pts))
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	s.maps, s.mapsAt, s.pngs = m, version, map[string][]byte{}
	s.mu.Unlock()
	return m, version, nil
}

func (s *Server) reportData(pts []survey.Point) report.Data {
	return report.Data{Label: s.o.Store.Label(), Settings: s.o.Settings, Points: pts, Plan: s.plan.Image,
		Params: s.o.Params, Generated: s.o.Now(), Version: s.o.Version}
}

func (s *Server) heatmapPNG(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	layer, err := heatmap.ParseLayer(q.Get("layer"))
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	overPlan := false
	switch q.Get("plan") {
	case "", "0", "false":
	case "1", "true":
		overPlan = true
	default:
		fail(w, http.StatusBadRequest, "plan=%q: want 1 (over the floor plan, points marked) or 0 (the bare overlay)", q.Get("plan"))
		return
	}
	m, version, err := s.computed()
	if err != nil {
		fail(w, http.StatusInternalServerError, "drawing the heatmap: %v", err)
		return
	}
	key := fmt.Sprintf("%s/%v", layer, overPlan)
	s.mu.Lock()
	data, ok := s.pngs[key]
	s.mu.Unlock()
	if !ok {
		data, err = heatmap.EncodePNG(m.Layer(layer, overPlan))
		if err != nil {
			fail(w, http.StatusInternalServerError, "encoding the heatmap: %v", err)
			return
		}
		s.mu.Lock()
		if s.mapsAt == version {
			s.pngs[key] = data
		}
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "image/png")
	_, _ = w.Write(data)
}

func (s *Server) notspots(w http.ResponseWriter, _ *http.Request) {
	pts, err := s.points()
	if err != nil {
		fail(w, http.StatusInternalServerError, "reading the points: %v", err)
		return
	}
	var buf bytes.Buffer
	if err := survey.WriteNotSpotCSV(&buf, pts, s.o.Settings.Coverage.SSIDs); err != nil {
		fail(w, http.StatusInternalServerError, "writing the register: %v", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="notspots.csv"`)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) reportHTML(w http.ResponseWriter, _ *http.Request) {
	pts, err := s.points()
	if err != nil {
		fail(w, http.StatusInternalServerError, "reading the points: %v", err)
		return
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, s.reportData(pts)); err != nil {
		fail(w, http.StatusInternalServerError, "writing the report: %v", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// layerInfo is a layer's legend for the page.
type layerInfo struct {
	Name   string     `json:"name"`
	Title  string     `json:"title"`
	Unit   string     `json:"unit"`
	Anchor string     `json:"anchor"`
	Bands  []bandInfo `json:"bands"`
}

type bandInfo struct {
	Color string `json:"color"`
	Label string `json:"label"`
}

type looInfo struct {
	MAE     *float64 `json:"mae_db"`
	RMSE    *float64 `json:"rmse_db"`
	N       int      `json:"points"`
	Skipped int      `json:"skipped"`
	Text    string   `json:"text"`
}

func (s *Server) info(w http.ResponseWriter, _ *http.Request) {
	m, version, err := s.computed()
	if err != nil {
		fail(w, http.StatusInternalServerError, "%v", err)
		return
	}
	cs := s.o.Settings.Coverage
	out := map[string]any{
		"location":        s.o.Store.Label(),
		"standard":        cs.Standard,
		"standard_text":   survey.Describe(cs.Standards[cs.Standard]),
		"standard_source": s.o.Settings.StandardSource,
		"notspot_dbm":     cs.NotSpotDBM,
		"ssids":           cs.SSIDs,
		"warnings":        s.o.Warnings,
		"version":         version,
	}
	var layers []layerInfo
	for _, l := range heatmap.Layers() {
		sc := m.Scales[l]
		li := layerInfo{Name: l.String(), Title: sc.Title, Unit: sc.Unit, Anchor: sc.Anchor}
		for _, b := range report.Legend(sc) {
			li.Bands = append(li.Bands, bandInfo{Color: string(b.Color), Label: b.Label})
		}
		layers = append(layers, li)
	}
	out["layers"] = layers
	loo := looInfo{N: m.LOO.N, Skipped: m.LOO.Skipped, Text: report.LOOText(m.LOO)}
	if m.LOO.N > 0 && !math.IsNaN(m.LOO.MAE) {
		mae, rmse := m.LOO.MAE, m.LOO.RMSE
		loo.MAE, loo.RMSE = &mae, &rmse
	}
	out["leave_one_out"] = loo
	writeJSON(w, http.StatusOK, out)
}

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

func (s *Server) page(w http.ResponseWriter, _ *http.Request) {
	l := s.o.Store.Label()
	var buf bytes.Buffer
	err := pageTmpl.Execute(&buf, map[string]any{
		"Title": fmt.Sprintf("%s · %s · floor %s", l.Site, l.Building, l.Floor),
		"Ward":  l.Ward, "Width": l.PlanWidth, "Height": l.PlanHeight,
	})
	if err != nil {
		fail(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
