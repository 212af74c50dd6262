package heatmap

import "math"

// LOO is the leave-one-out error of the primary layer: each point in turn is
// left out, the primary signal at its place is interpolated from the others,
// and compared with what was measured there.
type LOO struct {
	// RMSE and MAE are the root-mean-square and mean absolute errors, dB.
	RMSE, MAE float64
	// MaxAbs is the largest absolute error, dB.
	MaxAbs float64
	// N is how many points were predicted.
	N int
	// Skipped counts points that could not be predicted: no other point
	// within the radius, or no BSS of the configured SSIDs heard there.
	Skipped int
}

// LeaveOneOut cross-validates the interpolation on the survey's own points.
func LeaveOneOut(s Survey, p Params) (LOO, error) {
	if err := s.Validate(); err != nil {
		return LOO{}, err
	}
	if err := p.check(); err != nil {
		return LOO{}, err
	}
	var out LOO
	if len(s.Points) < 2 {
		out.Skipped = len(s.Points)
		return out, nil
	}
	ss := toSites(s)
	n := newNeighbours(ss, p.K, radiusPx(s, p))
	e := &estimator{s: s, p: p}
	var sq, abs float64
	for i, pt := range s.Points {
		measured := math.Inf(-1)
		for b, bss := range s.BSS {
			if v := pt.Signal[b]; bss.Counts && !math.IsNaN(v) && v > measured {
				measured = v
			}
		}
		n.skip = i
		e.nb = n.near(ss[i].x, ss[i].y, e.nb)
		if math.IsInf(measured, -1) || len(e.nb) == 0 {
			out.Skipped++
			continue
		}
		e.weights()
		e.signals()
		pred := NotHeardDBM
		if first, _ := e.rank(); first >= 0 {
			pred = e.sig[first]
		}
		d := pred - measured
		sq += d * d
		abs += math.Abs(d)
		out.MaxAbs = max(out.MaxAbs, math.Abs(d))
		out.N++
	}
	if out.N > 0 {
		out.RMSE = math.Sqrt(sq / float64(out.N))
		out.MAE = abs / float64(out.N)
	}
	return out, nil
}
