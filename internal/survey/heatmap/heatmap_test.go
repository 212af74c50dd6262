package heatmap

import (
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

// A synthetic ward: 40 m × 25 m (two bays, side rooms and a corridor) drawn
// at 20 px/m, APs at known places, and the signal at every place from the
// log-distance path loss model RSSI(d) = P(1 m) − 10·n·log10(d / 1 m) with
// log-normal shadowing. 40 points on it are one per 25 m², a reading every
// 5 m or so, as survey practice asks (a reading every 3–5 m).
const (
	floorW, floorH = 40.0, 25.0 // metres
	pxPerM         = 20.0
	pathLossN      = 3.0  // indoor exponent, offices and wards with walls
	shadowSigma    = 2.0  // dB
	p1m            = -40. // dBm at 1 m (about 20 dBm EIRP minus 40 dB at 2.4 GHz)
)

type ap struct {
	id       string
	x, y     float64 // metres
	freq     int
	counts   bool
	txOffset float64 // dB relative to p1m
}

func wardAPs() []ap {
	return []ap{
		{"ap1", 6, 6, 2412, true, 0},
		{"ap2", 20, 18, 2437, true, 0},
		{"ap3", 34, 6, 2462, true, 0},
		{"ap4", 36, 22, 2412, true, -3},
		{"guest", 14, 20, 2437, false, 0},
		{"other", 39, 24, 2412, false, -6},
	}
}

func rssi(a ap, x, y float64) float64 {
	d := math.Max(1, math.Hypot(x-a.x, y-a.y))
	return p1m + a.txOffset - 10*pathLossN*math.Log10(d)
}

// synthetic returns a survey of n points spread over the floor as an
// engineer walks it: one at a random place in each cell of an even grid
// (fixed seed; with n not a multiple of 8 the last row is partly random),
// each hearing every AP above −92 dBm.
func synthetic(n int, seed uint64) Survey {
	r := rand.New(rand.NewPCG(seed, 7))
	aps := wardAPs()
	s := Survey{Width: int(floorW * pxPerM), Height: int(floorH * pxPerM)}
	for _, a := range aps {
		s.BSS = append(s.BSS, BSS{ID: a.id, FrequencyMHz: a.freq, Counts: a.counts})
	}
	const cols = 8
	rows := (n + cols - 1) / cols
	for i := range n {
		cx, cy := float64(i%cols), float64(i/cols)
		x := (cx + r.Float64()) * floorW / cols
		y := (cy + r.Float64()) * floorH / float64(rows)
		s.Points = append(s.Points, pointAt(r, aps, x, y))
	}
	return s
}

func pointAt(r *rand.Rand, aps []ap, x, y float64) Point {
	p := Point{X: x / floorW, Y: y / floorH, Noise: map[int]float64{2412: -92, 2437: -92, 2462: -90}, Loss: 0.01 * x / floorW}
	for _, a := range aps {
		v := rssi(a, x, y) + r.NormFloat64()*shadowSigma
		if v < -92 {
			v = math.NaN()
		}
		p.Signal = append(p.Signal, math.Round(v))
	}
	return p
}

// testParams use a radius of 8 m on the 40 m floor.
func testParams() Params { return Params{Radius: 8 / floorW, K: 6, Power: 2} }

func TestLeaveOneOutOnSyntheticFloor(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		s := synthetic(40, seed)
		loo, err := LeaveOneOut(s, testParams())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("floor %2d: leave-one-out error of the primary signal at 40 points: mean %.2f dB (RMS %.2f dB, max %.1f dB; %d predicted, %d skipped)",
			seed, loo.MAE, loo.RMSE, loo.MaxAbs, loo.N, loo.Skipped)
		if loo.N < 36 {
			t.Errorf("floor %d: only %d of 40 points predicted", seed, loo.N)
		}
		if loo.MAE > 5 {
			t.Errorf("floor %d: leave-one-out error %.2f dB, want <= 5 dB", seed, loo.MAE)
		}
		// The interpolation must beat a flat guess (the mean of all primaries).
		var prim []float64
		for _, p := range s.Points {
			best := math.Inf(-1)
			for b, v := range p.Signal {
				if s.BSS[b].Counts && v > best {
					best = v
				}
			}
			prim = append(prim, best)
		}
		var mean, dev float64
		for _, v := range prim {
			mean += v / float64(len(prim))
		}
		for _, v := range prim {
			dev += math.Abs(v-mean) / float64(len(prim))
		}
		if loo.MAE >= dev {
			t.Errorf("floor %d: leave-one-out error %.2f dB is no better than a flat guess (%.2f dB)", seed, loo.MAE, dev)
		}
	}
}

// nearestPx is the distance from pixel centre x,y to the nearest point.
func nearestPx(s Survey, x, y int) float64 {
	d := math.Inf(1)
	for _, p := range s.Points {
		d = math.Min(d, math.Hypot(float64(x)+0.5-p.X*float64(s.Width), float64(y)+0.5-p.Y*float64(s.Height)))
	}
	return d
}

func TestNoCellBeyondTheRadiusIsColoured(t *testing.T) {
	s := synthetic(40, 2)
	p := testParams()
	p.Radius = 4 / floorW // 4 m: leaves plenty of the floor without data
	f, err := Compute(s, p)
	if err != nil {
		t.Fatal(err)
	}
	scales := Scales(Anchors{Standard: "nhs", SignalDBM: -65, SecondDBM: -65, NotSpotDBM: -80, SNRDB: 25, LossRatio: 0.01})
	dist := make([]float64, s.Width*s.Height)
	for y := range s.Height {
		for x := range s.Width {
			dist[y*s.Width+x] = nearestPx(s, x, y)
		}
	}
	for _, l := range Layers() {
		img := f.Render(l, scales[l])
		if img.Bounds().Dx() != s.Width || img.Bounds().Dy() != s.Height {
			t.Fatalf("%s: image %v, want the plan's %dx%d", l, img.Bounds(), s.Width, s.Height)
		}
		coloured, outside, inside, empty := 0, 0, 0, 0
		for y := range s.Height {
			for x := range s.Width {
				c := img.NRGBAAt(x, y)
				data := c.A != 0 && c != HatchColor
				d := dist[y*s.Width+x]
				switch {
				case d > f.RadiusPx && data:
					coloured++
				case d > f.RadiusPx:
					outside++
				case d < f.RadiusPx-2*float64(f.Cell) && !data && l != Loss && l != SNR:
					empty++
				case data:
					inside++
				}
			}
		}
		if coloured > 0 {
			t.Errorf("%s: %d pixels beyond the %.0f px radius are coloured", l, coloured, f.RadiusPx)
		}
		if outside == 0 || inside == 0 {
			t.Errorf("%s: %d pixels without data and %d with: the test floor should have both", l, outside, inside)
		}
		if empty > 0 {
			t.Errorf("%s: %d pixels well within the radius have no colour", l, empty)
		}
	}
}

func TestAddingAPointMovesOnlyItsNeighbourhood(t *testing.T) {
	s := synthetic(40, 3)
	p := testParams()
	before, err := Compute(s, p)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	nx, ny := 0.5*floorW, 0.45*floorH
	s.Points = append(s.Points, pointAt(r, wardAPs(), nx, ny))
	after, err := Compute(s, p)
	if err != nil {
		t.Fatal(err)
	}
	px, py := nx*pxPerM, ny*pxPerM
	changedNear, changedFar := 0, 0
	for _, l := range Layers() {
		for row := range after.Rows {
			for col := range after.Cols {
				i := row*after.Cols + col
				a, b := before.layers[l][i], after.layers[l][i]
				same := a == b || (math.IsNaN(float64(a)) && math.IsNaN(float64(b)))
				d := math.Hypot((float64(col)+0.5)*float64(after.Cell)-px, (float64(row)+0.5)*float64(after.Cell)-py)
				switch {
				case d > after.RadiusPx && !same:
					changedFar++
				case d <= after.RadiusPx && !same:
					changedNear++
				}
			}
		}
	}
	t.Logf("cells changed within the radius of the new point: %d; beyond: %d", changedNear, changedFar)
	if changedFar > 0 {
		t.Errorf("%d cell values beyond the new point's radius changed", changedFar)
	}
	if changedNear == 0 {
		t.Error("the new point changed nothing around it")
	}
}

func TestAverageNeverSums(t *testing.T) {
	// Many overlapping weak readings of one AP stay weak (a sum would make
	// them strong: wifi-heatmapper's issue 31).
	s := Survey{Width: 200, Height: 200, BSS: []BSS{{ID: "a", FrequencyMHz: 2412, Counts: true}}}
	for i := range 9 {
		s.Points = append(s.Points, Point{X: 0.45 + 0.01*float64(i%3), Y: 0.45 + 0.01*float64(i/3), Signal: []float64{-78}, Loss: math.NaN()})
	}
	f, err := Compute(s, Params{Radius: 0.3, K: 9, Power: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, xy := range [][2]int{{100, 100}, {95, 95}, {130, 100}} {
		v, ok := f.At(Primary, xy[0], xy[1])
		if !ok || math.Abs(v-(-78)) > 1e-3 {
			t.Errorf("primary at %v = %v (data %v), want -78", xy, v, ok)
		}
	}
	if _, ok := f.At(Primary, 5, 5); ok {
		t.Error("a corner far from every point has data")
	}
}

func TestRankAndLayers(t *testing.T) {
	// One point hearing three BSSs: two of the SSID on one channel and a
	// foreign one on the same channel; the layers at the point are exact.
	s := Survey{Width: 100, Height: 100, BSS: []BSS{
		{ID: "a", FrequencyMHz: 2412, Counts: true},
		{ID: "b", FrequencyMHz: 5180, Counts: true},
		{ID: "c", FrequencyMHz: 2412, Counts: false},
		{ID: "d", FrequencyMHz: 2412, Counts: false},
	}, Points: []Point{{X: 0.5, Y: 0.5, Signal: []float64{-55, -62, -80, -85}, Noise: map[int]float64{2412: -90}, Loss: 0.02}}}
	f, err := Compute(s, Params{Radius: 0.2, K: 4, Power: 2, Cell: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		l    Layer
		want float64
	}{{Primary, -55}, {Secondary, -62}, {SNR, 35}, {CoChannel, 1}, {Loss, 0.02}} {
		if v, ok := f.At(c.l, 50, 50); !ok || math.Abs(v-c.want) > 1e-4 {
			t.Errorf("%s = %v (data %v), want %v", c.l, v, ok, c.want)
		}
	}
}

func TestScalesAnchoredOnTheStandard(t *testing.T) {
	sc := Scales(Anchors{Standard: "nhs", SignalDBM: -65, SecondDBM: -65, NotSpotDBM: -80, SNRDB: 25, LossRatio: 0.01, SNRFromStandard: true, LossFromStandard: true})
	meets, below := sc[Primary].Color(-65), sc[Primary].Color(-65.1)
	if meets != colMeets || below != colMarg {
		t.Errorf("-65 dBm %v, -65.1 dBm %v: the scale must turn at the standard's -65 dBm", meets, below)
	}
	if c := sc[Primary].Color(-80.5); c != colBad {
		t.Errorf("-80.5 dBm %v, want the not-spot colour", c)
	}
	if c := sc[Primary].Color(NotHeardDBM); c != colNone {
		t.Errorf("nothing heard %v, want %v", c, colNone)
	}
	voice := Scales(Anchors{Standard: "voice", SignalDBM: -67, SecondDBM: -67, NotSpotDBM: -80, SNRDB: 25, LossRatio: 0.01})
	if c := voice[Primary].Color(-66); c != colMeets {
		t.Errorf("voice: -66 dBm %v, want meets", c)
	}
	if c := sc[Loss].Color(0.01); c != colMeets {
		t.Errorf("1%% loss %v, want meets", c)
	}
	if c := sc[Loss].Color(0.011); c != colMarg {
		t.Errorf("1.1%% loss %v, want above the standard", c)
	}
	for l, s := range sc {
		for i, b := range s.Bands {
			if b.Color == HatchColor || (i > 0 && b.From != s.Bands[i-1].To) {
				t.Errorf("%s: band %d %+v is the hatch colour or leaves a gap", l, i, b)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	good := Params{Radius: 0.1, K: 3, Power: 2}
	for _, c := range []struct {
		name string
		s    Survey
		p    Params
	}{
		{"no size", Survey{}, good},
		{"huge", Survey{Width: MaxSide + 1, Height: 10}, good},
		{"signals", Survey{Width: 10, Height: 10, BSS: []BSS{{ID: "a"}}, Points: []Point{{X: 0.5, Y: 0.5}}}, good},
		{"off plan", Survey{Width: 10, Height: 10, Points: []Point{{X: 1.5, Y: 0.5}}}, good},
		{"nan", Survey{Width: 10, Height: 10, Points: []Point{{X: math.NaN(), Y: 0.5}}}, good},
		{"radius", Survey{Width: 10, Height: 10}, Params{Radius: 0, K: 3, Power: 2}},
		{"k", Survey{Width: 10, Height: 10}, Params{Radius: 0.1, K: 0, Power: 2}},
	} {
		if _, err := Compute(c.s, c.p); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if _, err := ParseLayer("rssi"); err == nil {
		t.Error("unknown layer accepted")
	}
}

func TestEmptySurveyHasNoData(t *testing.T) {
	f, err := Compute(Survey{Width: 40, Height: 30}, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	img := f.Render(Primary, Scales(Anchors{SignalDBM: -65, SecondDBM: -65, NotSpotDBM: -80, SNRDB: 25, LossRatio: 0.01})[Primary])
	for y := range 30 {
		for x := range 40 {
			if c := img.NRGBAAt(x, y); c != (color.NRGBA{}) && c != HatchColor {
				t.Fatalf("pixel %d,%d is %v with no points", x, y, c)
			}
		}
	}
}
