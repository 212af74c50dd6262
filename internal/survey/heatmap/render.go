package heatmap

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
)

// Alpha is the opacity of coloured cells, so the plan shows through.
const Alpha = 0xb4

// hatchPeriod is the spacing of the no-data hatching, pixels.
const hatchPeriod = 12

// Render draws layer l at the plan's size with scale sc: each pixel within
// the radius of a point in its band's colour (with opacity Alpha), every
// other pixel transparent but for thin grey diagonal hatching (HatchColor)
// that marks "no data".
func (f *Field) Render(l Layer, sc Scale) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, f.W, f.H))
	covered := f.mask()
	vals := f.layers[l]
	cellColor := make([]color.NRGBA, len(vals))
	for i, v := range vals {
		if math.IsNaN(float64(v)) {
			cellColor[i] = color.NRGBA{}
			continue
		}
		c := sc.Color(float64(v))
		c.A = Alpha
		cellColor[i] = c
	}
	for y := range f.H {
		row := img.Pix[y*img.Stride:]
		crow := cellColor[(y/f.Cell)*f.Cols:]
		for x := range f.W {
			var c color.NRGBA
			if covered[y*f.W+x] {
				c = crow[x/f.Cell]
			}
			if c.A == 0 && (x+y)%hatchPeriod == 0 {
				c = HatchColor
			}
			o := 4 * x
			row[o], row[o+1], row[o+2], row[o+3] = c.R, c.G, c.B, c.A
		}
	}
	return img
}

// Opaque returns img as an opaque RGBA image: drawn over white, so that a
// plan with transparent parts shows them white.
func Opaque(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Over)
	return out
}

// Composite draws overlay over a copy of plan (which must be the overlay's
// size; see Opaque).
func Composite(plan *image.RGBA, overlay *image.NRGBA) *image.RGBA {
	out := image.NewRGBA(plan.Bounds())
	copy(out.Pix, plan.Pix)
	draw.Draw(out, out.Bounds(), overlay, image.Point{}, draw.Over)
	return out
}

// Marker is a survey point drawn on an image.
type Marker struct {
	// X and Y are fractions of the image's width and height.
	X, Y float64
	// Fill is the marker's colour (e.g. by the point's verdict).
	Fill color.NRGBA
}

// DrawMarkers draws each marker as a filled disc with a dark outline,
// its radius scaled to the image (about 0.6% of the longer side, at least 4 px).
func DrawMarkers(img *image.RGBA, ms []Marker) {
	b := img.Bounds()
	r := max(4, float64(max(b.Dx(), b.Dy()))*0.006)
	edge := color.RGBA{0x20, 0x20, 0x20, 0xff}
	for _, m := range ms {
		fill := color.RGBAModel.Convert(m.Fill).(color.RGBA)
		cx, cy := m.X*float64(b.Dx()), m.Y*float64(b.Dy())
		for y := int(cy - r - 1); y <= int(cy+r+1); y++ {
			for x := int(cx - r - 1); x <= int(cx+r+1); x++ {
				d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
				switch {
				case d <= r-1.5:
					img.SetRGBA(x, y, fill)
				case d <= r:
					img.SetRGBA(x, y, edge)
				}
			}
		}
	}
}

// EncodePNG encodes img as PNG, favouring speed over size.
func EncodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
