// Package heatmap turns survey points into coverage layers over a floor plan,
// honestly: each BSS's signal is interpolated by inverse-distance weighting,
// a weighted average (never a sum) over the k nearest points within a radius
// (found with gonum's k-d tree), and the BSSs are then ranked per cell.
// Cells farther than the radius from every point have no data: they are left
// transparent (hatched), never extrapolated. Colour scales are fixed and
// anchored on the ward's standard (scale.go).
//
// The package is pure: no I/O, no clock.
package heatmap

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/spatial/kdtree"
)

// NotHeardDBM is the signal a BSS is taken to have at a point whose scans
// did not hear it: below the receive sensitivity of Wi-Fi adapters (about
// −90 to −95 dBm at the lowest rates), so a BSS fades out where it stops
// being heard instead of being carried over from the points that heard it.
const NotHeardDBM = -100.0

// CoChannelDBM is the signal from which another BSS on the same channel
// counts as co-channel contention: −82 dBm, the level at which IEEE 802.11
// requires an OFDM receiver's clear channel assessment to detect a 20 MHz
// transmission (IEEE 802.11-2020, 17.3.10.6, CCA sensitivity), i.e. the
// level from which two cells share airtime.
const CoChannelDBM = -82.0

// Limits on the input, so that a bad request cannot take unbounded memory.
const (
	MaxSide   = 10000 // plan width or height, pixels
	MaxPoints = 5000
	MaxBSS    = 2000
	// maxCells bounds the interpolation grid.
	maxCells = 1 << 20
)

// BSS is one BSS of a survey.
type BSS struct {
	ID           string
	FrequencyMHz int
	// Counts is whether its SSID is one of the configured SSIDs (it is a
	// candidate for the primary and secondary layers).
	Counts bool
}

// Point is one survey point.
type Point struct {
	// X and Y are fractions of the plan's width and height from the top left.
	X, Y float64
	// Signal[i] is the signal of Survey.BSS[i] in dBm, NaN when not heard.
	Signal []float64
	// Noise is the noise floor per frequency (MHz) in dBm, where measured.
	Noise map[int]float64
	// Loss is the ping loss ratio (0..1), NaN when not measured.
	Loss float64
}

// Survey is what a Field is computed from.
type Survey struct {
	// Width and Height are the plan's size in pixels.
	Width, Height int
	BSS           []BSS
	Points        []Point
}

// Params tune the interpolation.
type Params struct {
	// Radius is the no-data radius as a fraction of the plan's longer side:
	// a cell farther than this from every point has no data.
	Radius float64
	// K is how many nearest points (within Radius) are averaged.
	K int
	// Power is the inverse-distance weighting exponent (weights 1/d^Power).
	Power float64
	// Cell is the side of a grid cell in pixels (0: about 1/400 of the
	// longer side, at least 2).
	Cell int
}

// DefaultParams are the survey's defaults: a radius of 15% of the plan's
// longer side (about 9 m on a 60 m ward), the 6 nearest points, power 2.
func DefaultParams() Params { return Params{Radius: 0.15, K: 6, Power: 2} }

// Layer is one of the heatmaps a Field holds.
type Layer int

// Layers.
const (
	// Primary is the strongest BSS of the configured SSIDs, dBm.
	Primary Layer = iota
	// Secondary is the second strongest (roaming overlap), dBm.
	Secondary
	// SNR is the primary BSS's signal minus its channel's noise floor, dB.
	SNR
	// CoChannel counts the other BSSs on the primary BSS's channel heard at
	// or above CoChannelDBM.
	CoChannel
	// Loss is the ping loss ratio (0..1).
	Loss
	numLayers
)

// Layers returns every layer in order.
func Layers() []Layer { return []Layer{Primary, Secondary, SNR, CoChannel, Loss} }

var layerNames = [numLayers]string{"primary", "secondary", "snr", "cochannel", "loss"}

// String is the layer's name as used in the API ("primary", ...).
func (l Layer) String() string {
	if l < 0 || l >= numLayers {
		return fmt.Sprintf("layer(%d)", int(l))
	}
	return layerNames[l]
}

// ParseLayer returns the layer named s.
func ParseLayer(s string) (Layer, error) {
	for i, n := range layerNames {
		if n == s {
			return Layer(i), nil
		}
	}
	return 0, fmt.Errorf("unknown layer %q (want primary, secondary, snr, cochannel or loss)", s)
}

// Field is a survey interpolated on a grid of cells over the plan.
type Field struct {
	W, H       int
	Cell       int
	Cols, Rows int
	// RadiusPx is the no-data radius in pixels.
	RadiusPx float64
	layers   [numLayers][]float32 // NaN: no data
	sites    []site

	maskOnce sync.Once
	maskBits []bool
}

// Validate checks a survey's shape and bounds.
func (s Survey) Validate() error {
	switch {
	case s.Width <= 0 || s.Height <= 0 || s.Width > MaxSide || s.Height > MaxSide:
		return fmt.Errorf("plan size %dx%d is outside 1..%d pixels", s.Width, s.Height, MaxSide)
	case len(s.Points) > MaxPoints:
		return fmt.Errorf("%d points, more than %d", len(s.Points), MaxPoints)
	case len(s.BSS) > MaxBSS:
		return fmt.Errorf("%d BSSs, more than %d", len(s.BSS), MaxBSS)
	}
	for i, p := range s.Points {
		if len(p.Signal) != len(s.BSS) {
			return fmt.Errorf("point %d has %d signals for %d BSSs", i, len(p.Signal), len(s.BSS))
		}
		if !(p.X >= 0 && p.X <= 1 && p.Y >= 0 && p.Y <= 1) {
			return fmt.Errorf("point %d at %g,%g is off the plan", i, p.X, p.Y)
		}
	}
	return nil
}

func (p Params) check() error {
	if !(p.Radius > 0 && p.Radius <= 2) || p.K < 1 || p.K > 64 || !(p.Power > 0 && p.Power <= 8) || p.Cell < 0 {
		return errors.New("heatmap parameters out of range (radius 0..2, k 1..64, power 0..8)")
	}
	return nil
}

// site is a survey point in pixel coordinates, in the k-d tree.
type site struct {
	x, y float64
	i    int
}

func (s site) Compare(c kdtree.Comparable, d kdtree.Dim) float64 {
	q := c.(site)
	if d == 0 {
		return s.x - q.x
	}
	return s.y - q.y
}
func (s site) Dims() int { return 2 }
func (s site) Distance(c kdtree.Comparable) float64 {
	q := c.(site)
	dx, dy := s.x-q.x, s.y-q.y
	return dx*dx + dy*dy
}

type sites []site

func (s sites) Index(i int) kdtree.Comparable { return s[i] }
func (s sites) Len() int                      { return len(s) }
func (s sites) Pivot(d kdtree.Dim) int {
	p := plane{s, d}
	return kdtree.Partition(p, kdtree.MedianOfMedians(p))
}
func (s sites) Slice(a, b int) kdtree.Interface { return s[a:b] }

type plane struct {
	s sites
	d kdtree.Dim
}

func (p plane) Less(i, j int) bool {
	if p.d == 0 {
		return p.s[i].x < p.s[j].x
	}
	return p.s[i].y < p.s[j].y
}
func (p plane) Len() int                         { return len(p.s) }
func (p plane) Swap(i, j int)                    { p.s[i], p.s[j] = p.s[j], p.s[i] }
func (p plane) Slice(a, b int) kdtree.SortSlicer { return plane{p.s[a:b], p.d} }

// neighbours finds the k nearest sites within the radius.
type neighbours struct {
	tree *kdtree.Tree
	keep *kdtree.NKeeper
	r2   float64
	k    int
	// skip leaves one point out (leave-one-out); -1 for none.
	skip int
}

func newNeighbours(ss []site, k int, radiusPx float64) *neighbours {
	t := kdtree.New(sites(append([]site(nil), ss...)), false)
	n := &neighbours{tree: t, r2: radiusPx * radiusPx, k: k, skip: -1}
	n.keep = &kdtree.NKeeper{Heap: make(kdtree.Heap, 1, k+1)}
	return n
}

// near returns the neighbours of x,y (pixel coordinates), nearest first,
// with their squared distances, in out (reused).
func (n *neighbours) near(x, y float64, out []kdtree.ComparableDist) []kdtree.ComparableDist {
	n.keep.Heap = n.keep.Heap[:1]
	n.keep.Heap[0] = kdtree.ComparableDist{Dist: n.r2}
	n.tree.NearestSet(n.keep, site{x: x, y: y, i: -1})
	out = out[:0]
	for _, c := range n.keep.Heap {
		if c.Comparable == nil || c.Comparable.(site).i == n.skip || len(out) == n.k {
			continue
		}
		out = append(out, c)
	}
	return out
}

// estimator computes every BSS's interpolated signal at a place.
type estimator struct {
	s   Survey
	p   Params
	w   []float64 // weights, per neighbour
	sig []float64 // per BSS
	nb  []kdtree.ComparableDist
}

// weights fills e.w from the neighbours: 1/d^power, or a single weight of 1
// on a neighbour that coincides with the place.
func (e *estimator) weights() {
	e.w = e.w[:0]
	exact := -1
	for j, c := range e.nb {
		if c.Dist < 1e-9 {
			exact = j
			break
		}
	}
	for j, c := range e.nb {
		switch {
		case exact == j:
			e.w = append(e.w, 1)
		case exact >= 0:
			e.w = append(e.w, 0)
		default:
			e.w = append(e.w, math.Pow(c.Dist, -e.p.Power/2))
		}
	}
}

// signals fills e.sig: per BSS the weighted average of the neighbours'
// signals (NotHeardDBM where a neighbour did not hear it); NaN for a BSS no
// neighbour heard.
func (e *estimator) signals() {
	if cap(e.sig) < len(e.s.BSS) {
		e.sig = make([]float64, len(e.s.BSS))
	}
	e.sig = e.sig[:len(e.s.BSS)]
	var wsum float64
	for _, w := range e.w {
		wsum += w
	}
	for b := range e.s.BSS {
		var sum float64
		heard := false
		for j, c := range e.nb {
			v := e.s.Points[c.Comparable.(site).i].Signal[b]
			if math.IsNaN(v) {
				v = NotHeardDBM
			} else {
				heard = true
			}
			sum += e.w[j] * v
		}
		if !heard {
			e.sig[b] = math.NaN()
			continue
		}
		e.sig[b] = sum / wsum
	}
}

// scalar is the weighted average of a per-point value over the neighbours
// that have one (NaN when none has).
func (e *estimator) scalar(val func(Point) (float64, bool)) float64 {
	var sum, wsum float64
	for j, c := range e.nb {
		if v, ok := val(e.s.Points[c.Comparable.(site).i]); ok {
			sum += e.w[j] * v
			wsum += e.w[j]
		}
	}
	if wsum == 0 {
		return math.NaN()
	}
	return sum / wsum
}

// rank returns the strongest and second strongest counted BSS (index -1
// when there is none).
func (e *estimator) rank() (first, second int) {
	first, second = -1, -1
	for b, bss := range e.s.BSS {
		v := e.sig[b]
		if !bss.Counts || math.IsNaN(v) {
			continue
		}
		switch {
		case first < 0 || v > e.sig[first]:
			first, second = b, first
		case second < 0 || v > e.sig[second]:
			second = b
		}
	}
	return first, second
}

// cell computes every layer at x,y (pixels); ok is false when no point is
// within the radius.
func (e *estimator) cell(n *neighbours, x, y float64) (vals [numLayers]float64, ok bool) {
	e.nb = n.near(x, y, e.nb)
	if len(e.nb) == 0 {
		return vals, false
	}
	e.weights()
	e.signals()
	first, second := e.rank()
	vals[Primary], vals[Secondary] = NotHeardDBM, NotHeardDBM
	vals[SNR], vals[CoChannel] = 0, 0
	if first >= 0 {
		vals[Primary] = e.sig[first]
		f := e.s.BSS[first].FrequencyMHz
		noise := e.scalar(func(p Point) (float64, bool) { v, ok := p.Noise[f]; return v, ok })
		vals[SNR] = e.sig[first] - noise // NaN without noise data
		cc := 0
		for b, bss := range e.s.BSS {
			if b != first && bss.FrequencyMHz == f && e.sig[b] >= CoChannelDBM {
				cc++
			}
		}
		vals[CoChannel] = float64(cc)
	}
	if second >= 0 {
		vals[Secondary] = e.sig[second]
	}
	vals[Loss] = e.scalar(func(p Point) (float64, bool) { return p.Loss, !math.IsNaN(p.Loss) })
	return vals, true
}

func toSites(s Survey) []site {
	out := make([]site, len(s.Points))
	for i, p := range s.Points {
		out[i] = site{x: p.X * float64(s.Width), y: p.Y * float64(s.Height), i: i}
	}
	return out
}

// radiusPx converts the radius to pixels.
func radiusPx(s Survey, p Params) float64 { return p.Radius * float64(max(s.Width, s.Height)) }

// Compute interpolates the survey on a grid of cells. It is an error when
// the survey or parameters are out of bounds.
func Compute(s Survey, p Params) (*Field, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	cell := p.Cell
	if cell == 0 {
		cell = max(2, max(s.Width, s.Height)/400)
	}
	cols, rows := (s.Width+cell-1)/cell, (s.Height+cell-1)/cell
	if cols*rows > maxCells {
		return nil, fmt.Errorf("cell size %d gives %d cells, more than %d", cell, cols*rows, maxCells)
	}
	f := &Field{W: s.Width, H: s.Height, Cell: cell, Cols: cols, Rows: rows, RadiusPx: radiusPx(s, p), sites: toSites(s)}
	for l := range f.layers {
		f.layers[l] = make([]float32, cols*rows)
	}
	nan := float32(math.NaN())
	if len(s.Points) == 0 {
		for l := range f.layers {
			for i := range f.layers[l] {
				f.layers[l][i] = nan
			}
		}
		return f, nil
	}
	n := newNeighbours(f.sites, p.K, f.RadiusPx)
	e := &estimator{s: s, p: p}
	for r := range rows {
		cy := (float64(r) + 0.5) * float64(cell)
		for c := range cols {
			cx := (float64(c) + 0.5) * float64(cell)
			vals, ok := e.cell(n, cx, cy)
			i := r*cols + c
			for l := range f.layers {
				if !ok {
					f.layers[l][i] = nan
					continue
				}
				f.layers[l][i] = float32(vals[l])
			}
		}
	}
	return f, nil
}

// At returns the value of a layer at pixel px,py, and whether there is data
// there: the pixel is within the radius of a point and its cell has a value.
func (f *Field) At(l Layer, px, py int) (float64, bool) {
	if px < 0 || py < 0 || px >= f.W || py >= f.H || l < 0 || l >= numLayers {
		return 0, false
	}
	v := f.layers[l][(py/f.Cell)*f.Cols+px/f.Cell]
	if math.IsNaN(float64(v)) || !f.covered(float64(px)+0.5, float64(py)+0.5) {
		return 0, false
	}
	return float64(v), true
}

// covered reports whether x,y (pixels) is within the radius of a point.
func (f *Field) covered(x, y float64) bool {
	r2 := f.RadiusPx * f.RadiusPx
	for _, s := range f.sites {
		if dx, dy := s.x-x, s.y-y; dx*dx+dy*dy <= r2 {
			return true
		}
	}
	return false
}

// mask returns the coverage mask, computed once.
func (f *Field) mask() []bool {
	f.maskOnce.Do(func() { f.maskBits = f.coverage() })
	return f.maskBits
}

// coverage returns a per-pixel mask of the pixels whose centre is within
// the radius of some point, drawn disk by disk.
func (f *Field) coverage() []bool {
	m := make([]bool, f.W*f.H)
	r := f.RadiusPx
	r2 := r * r
	for _, s := range f.sites {
		y0, y1 := max(0, int(math.Floor(s.y-r))), min(f.H-1, int(math.Ceil(s.y+r)))
		for y := y0; y <= y1; y++ {
			dy := float64(y) + 0.5 - s.y
			if dy*dy > r2 {
				continue
			}
			half := math.Sqrt(r2 - dy*dy)
			x0, x1 := max(0, int(math.Ceil(s.x-half-0.5))), min(f.W-1, int(math.Floor(s.x+half-0.5)))
			row := m[y*f.W:]
			for x := x0; x <= x1; x++ {
				row[x] = true
			}
		}
	}
	return m
}
