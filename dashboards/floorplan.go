package dashboards

import (
	"fmt"
	"math"
	"net/url"
	"strconv"

	"github.com/grafana/grafana-foundation-sdk/go/canvas"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/xychart"
)

// Marker size on the floor plan, in percent of the panel's width and height.
const (
	markerW = 3.0
	markerH = 5.0
	labelW  = 16.0
	labelH  = 4.0
)

// Suffixes of the canvas fields: the query legends are "<probe> coverage"
// and "<probe> signal".
const (
	coverageSuffix = " coverage"
	signalSuffix   = " signal"
)

// floorPlanScope: one floor of one building (x,y are positions on that
// floor's plan), any of its wards.
func floorPlanScope() scope {
	return scope{
		{"site", "Site", false},
		{"building", "Building", false},
		{"floor", "Floor", false},
		{"ward", "Ward", true},
	}
}

// Names of the fields the positions chart plots.
const (
	fieldX        = "x"        // location.x, 0 at the plan's left edge
	fieldY        = "y"        // location.y, 0 at the plan's top edge
	fieldUp       = "up"       // 1 - y: the chart's y axis grows upwards
	fieldCoverage = "coverage" // probe:wardprobe_coverage:score
	fieldSignal   = "signal"   // wardprobe_wifi_signal_dbm
)

// floorPlan is the Floor plan dashboard. For the floor picked in the
// variables (any site, out of the box) it plots every probe at the x,y of
// its wardprobe_probe_info, coloured by coverage state, beside a table of the
// floor's probes. Below, for each floor in inv, a Canvas panel draws the
// floor-plan image with a marker per probe.
func floorPlan(inv Inventory) *dashboard.DashboardBuilder {
	s := floorPlanScope()
	b := newDashboard(UIDFloorPlan, "wardprobe — Floor plan",
		"Where each probe on a floor stands (location.x/y in its config, as exported in wardprobe_probe_info) and its coverage state now: green good, orange below standard, red not-spot, purple disconnected. Floors with a floor-plan image in dashboards/floorplans.yml also get a Canvas panel with the plan behind the markers.",
		"now-1h", s)
	b = b.WithRow(dashboard.NewRowBuilder("$building, floor $floor"))
	b = b.WithPanel(positionsChart(s))
	b = b.WithPanel(probesTable(s.sel(), "Probes on this floor", 8, 14))
	for _, f := range inv.Floors {
		b = b.WithRow(dashboard.NewRowBuilder(f.Title()).
			WithPanel(floorCanvas(f)).
			WithPanel(probesTable(floorSel(f), "Probes on this floor", 8, 16)))
	}
	return b
}

// byName matches the field called name in an XY chart's series config.
func byName(name string) *xychart.MatcherConfigBuilder {
	return xychart.NewMatcherConfigBuilder().Id("byName").Options(name)
}

// positionsChart plots the probes of the selected floor at their x,y (the
// floor plan's axes: x from the left, y from the top, both 0..1), each point
// coloured by its coverage state. Prometheus holds x and y as labels, so the
// chart reads them from an instant table, converts them to numbers and turns
// y into 1 - y (the chart's axis grows upwards, the plan's y downwards).
func positionsChart(s scope) *xychart.PanelBuilder {
	by := probeLabels
	return xychart.NewPanelBuilder().
		Title("Probe positions").
		Description("Each point is a probe at its location.x/location.y (0..1 from the floor plan's top-left corner, as in its config): colour = coverage state now. Hover for the probe, ward, spot and signal. Probes without a position are listed in the table only.").
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`max by (%s, spot, x, y) (wardprobe_probe_info{%s})`, by, s.sel(`x!=""`, `y!=""`)))).
		WithTarget(instant("B", fmt.Sprintf(`max by (%s) (%s{%s})`, by, recCoverageScore, s.sel()))).
		WithTarget(instant("C", fmt.Sprintf(`max by (%s) (wardprobe_wifi_signal_dbm{%s})`, by, s.sel()))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize([]string{"Time", "Value #A"},
			[]string{"probe", "ward", "spot", fieldX, fieldY, "Value #B", "Value #C", "site", "building", "floor"},
			map[string]string{"Value #B": fieldCoverage, "Value #C": fieldSignal})).
		WithTransformation(dashboard.DataTransformerConfig{Id: "convertFieldType", Options: map[string]any{
			"fields": map[string]any{},
			"conversions": []any{
				map[string]any{"targetField": fieldX, "destinationType": "number"},
				map[string]any{"targetField": fieldY, "destinationType": "number"},
			},
		}}).
		// The binary operands in their plain-string form: a field name or a
		// number; Grafana 11+ reads it as {matcher} / {fixed}
		// (checkBinaryValueType in calculateField.ts).
		WithTransformation(dashboard.DataTransformerConfig{Id: "calculateField", Options: map[string]any{
			"mode":          "binary",
			"alias":         fieldUp,
			"binary":        map[string]any{"left": "1", "operator": "-", "right": fieldY},
			"replaceFields": false,
		}}).
		Mapping(xychart.SeriesMappingManual).
		Series([]cog.Builder[xychart.XYSeriesConfig]{
			xychart.NewXYSeriesConfigBuilder().
				Frame(xychart.NewXychartXYSeriesConfigFrameBuilder().Matcher(xychart.NewMatcherConfigBuilder().Id("byIndex").Options(0))).
				X(xychart.NewXychartXYSeriesConfigXBuilder().Matcher(byName(fieldX))).
				Y(xychart.NewXychartXYSeriesConfigYBuilder().Matcher(byName(fieldUp))).
				Color(xychart.NewXychartXYSeriesConfigColorBuilder().Matcher(byName(fieldCoverage))),
		}).
		Show(xychart.XYShowModePoints).
		PointSize(xychart.NewXychartFieldConfigPointSizeBuilder().Fixed(18)).
		AxisSoftMin(0).
		AxisSoftMax(1).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(false).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeSingle).Sort(common.SortOrderNone)).
		OverrideByName(fieldX, []dashboard.DynamicConfigValue{{Id: "custom.axisLabel", Value: "x (left → right)"}}).
		OverrideByName(fieldUp, []dashboard.DynamicConfigValue{{Id: "custom.axisLabel", Value: "1 − y (bottom → top)"}}).
		OverrideByName(fieldCoverage, []dashboard.DynamicConfigValue{
			{Id: "mappings", Value: coverageMappings()},
			{Id: "thresholds", Value: mustBuild(coverageSteps())},
			{Id: "color", Value: map[string]any{"mode": "thresholds"}},
		}).
		OverrideByName(fieldSignal, []dashboard.DynamicConfigValue{
			{Id: "unit", Value: "dBm"},
			{Id: "decimals", Value: 0},
		}).
		Height(14).Span(16)
}

// floorSel selects the series of floor f.
func floorSel(f Floor) string {
	return fmt.Sprintf("site=%s, building=%s, floor=%s", strconv.Quote(f.Site), strconv.Quote(f.Building), strconv.Quote(f.Floor))
}

// floorCanvas draws floor f: the image stretched over the panel (so x,y map
// to the panel's width and height) and one marker and label per probe.
func floorCanvas(f Floor) *canvas.PanelBuilder {
	sel := floorSel(f)
	elements := []cog.Builder[canvas.CanvasElementOptions]{floorImage(f)}
	for _, p := range f.Probes {
		elements = append(elements, probeMarker(f, p), probeLabel(p))
	}
	return canvas.NewPanelBuilder().
		Title("Floor plan: "+f.Title()).
		Description("Each circle is a probe at its location.x/y: fill = coverage state now, ring and number = Wi-Fi signal now (dBm). Click a circle for the ward.").
		Datasource(ds()).
		WithTarget(instantSeries("A", fmt.Sprintf(`max by (probe, ward) (%s{%s})`, recCoverageScore, sel), "{{probe}}"+coverageSuffix)).
		WithTarget(instantSeries("B", fmt.Sprintf(`max by (probe, ward) (wardprobe_wifi_signal_dbm{%s})`, sel), "{{probe}}"+signalSuffix)).
		InlineEditing(false).
		ShowAdvancedTypes(false).
		PanZoom(false).
		InfinitePan(false).
		Root(canvas.NewCanvasOptionsRootBuilder().Name("Floor plan").Elements(elements)).
		OverrideByRegexp(".*"+coverageSuffix+"$", []dashboard.DynamicConfigValue{
			{Id: "mappings", Value: coverageMappings()},
			{Id: "thresholds", Value: mustBuild(coverageSteps())},
			{Id: "color", Value: map[string]any{"mode": "thresholds"}},
			{Id: "links", Value: []any{mustBuild(wardLink(
				url.QueryEscape(f.Site), url.QueryEscape(f.Building), url.QueryEscape(f.Floor), "${__field.labels.ward:percentencode}"))}},
		}).
		OverrideByRegexp(".*"+signalSuffix+"$", []dashboard.DynamicConfigValue{
			{Id: "unit", Value: "dBm"},
			{Id: "decimals", Value: 0},
			{Id: "thresholds", Value: mustBuild(signalSteps())},
			{Id: "color", Value: map[string]any{"mode": "thresholds"}},
		}).
		Height(16).Span(16)
}

// mustBuild builds a fixed builder; an error is a programming error.
func mustBuild[T any](b cog.Builder[T]) T {
	v, err := b.Build()
	if err != nil {
		panic(err)
	}
	return v
}

// scaled places an element by percentages of the panel (Grafana's "scale"
// constraint): it keeps its place when the panel is resized.
func scaled(left, top, w, h float64) (*canvas.ConstraintBuilder, *canvas.PlacementBuilder) {
	r := func(v float64) float64 { return math.Round(v*100) / 100 }
	return canvas.NewConstraintBuilder().Horizontal(canvas.HorizontalConstraintScale).Vertical(canvas.VerticalConstraintScale),
		canvas.NewPlacementBuilder().Left(r(left)).Top(r(top)).Right(r(100 - left - w)).Bottom(r(100 - top - h))
}

// inside moves a w×h box at left,top (percent) fully inside the panel.
func inside(left, top, w, h float64) (float64, float64, float64, float64) {
	return math.Max(0, math.Min(100-w, left)), math.Max(0, math.Min(100-h, top)), w, h
}

// floorImage is a rectangle covering the panel with the floor plan as its
// background. (The schema of the canvas root has no background.)
func floorImage(f Floor) *canvas.CanvasElementOptionsBuilder {
	c, p := scaled(0, 0, 100, 100)
	bg := canvas.NewBackgroundConfigBuilder().
		Color(common.NewColorDimensionConfigBuilder().Fixed("transparent")).
		Size(canvas.BackgroundImageSizeFill)
	if f.Image != "" {
		bg = bg.Image(common.NewResourceDimensionConfigBuilder().Mode(common.ResourceDimensionModeFixed).Fixed(f.Image))
	}
	return canvas.NewCanvasElementOptionsBuilder().
		Name("floor plan").
		Type("rectangle").
		Config(map[string]any{}).
		Constraint(c).Placement(p).
		Background(bg)
}

// probeMarker is the circle for probe p, centred on its x,y.
func probeMarker(f Floor, p ProbePosition) *canvas.CanvasElementOptionsBuilder {
	c, pl := scaled(p.X*100-markerW/2, p.Y*100-markerH/2, markerW, markerH)
	return canvas.NewCanvasElementOptionsBuilder().
		Name(p.Name).
		Type("ellipse").
		Config(map[string]any{
			"text":   map[string]any{"mode": "field", "field": p.Name + signalSuffix, "fixed": ""},
			"color":  map[string]any{"fixed": "#ffffff"},
			"align":  "center",
			"valign": "middle",
			"size":   10,
		}).
		Constraint(c).Placement(pl).
		Background(canvas.NewBackgroundConfigBuilder().
			Color(common.NewColorDimensionConfigBuilder().Field(p.Name + coverageSuffix).Fixed("#808080"))).
		Border(canvas.NewLineConfigBuilder().
			Color(common.NewColorDimensionConfigBuilder().Field(p.Name + signalSuffix).Fixed("#808080")).
			Width(4))
}

// probeLabel names probe p just below its marker.
func probeLabel(p ProbePosition) *canvas.CanvasElementOptionsBuilder {
	c, pl := scaled(inside(p.X*100-labelW/2, p.Y*100+markerH/2, labelW, labelH))
	text := p.Ward
	if p.Spot != "" {
		text += " · " + p.Spot
	}
	return canvas.NewCanvasElementOptionsBuilder().
		Name(p.Name + " label").
		Type("text").
		Config(map[string]any{
			"text":   map[string]any{"mode": "fixed", "fixed": text},
			"color":  map[string]any{"fixed": "text"},
			"align":  "center",
			"valign": "top",
			"size":   10,
		}).
		Constraint(c).Placement(pl)
}

// probesTable lists the probes matching sel with position, coverage and signal.
func probesTable(sel, title string, span, height uint32) *table.PanelBuilder {
	by := "site, building, floor, ward, probe"
	return newTable().
		Title(title).
		Description("Every probe reporting now: where it stands (location.spot, x, y from its config), its coverage state and signal.").
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`max by (%s, spot, x, y, standard) (wardprobe_probe_info{%s})`, by, sel))).
		WithTarget(instant("B", fmt.Sprintf(`max by (%s) (%s{%s})`, by, recCoverageScore, sel))).
		WithTarget(instant("C", fmt.Sprintf(`max by (%s) (wardprobe_wifi_signal_dbm{%s})`, by, sel))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize(
			[]string{"Time", "Value #A"},
			[]string{"site", "building", "floor", "ward", "probe", "spot", "x", "y", "standard", "Value #B", "Value #C"},
			map[string]string{"Value #B": "coverage", "Value #C": "signal"})).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			wardLink(`${__data.fields.site:percentencode}`, `${__data.fields.building:percentencode}`, `${__data.fields.floor:percentencode}`, `${__data.fields.ward:percentencode}`),
		}).
		OverrideByName("coverage", []dashboard.DynamicConfigValue{
			{Id: "mappings", Value: coverageMappings()},
			{Id: "custom.cellOptions", Value: colourBackground()},
		}).
		OverrideByName("signal", []dashboard.DynamicConfigValue{
			{Id: "unit", Value: "dBm"},
			{Id: "thresholds", Value: mustBuild(signalSteps())},
			{Id: "color", Value: map[string]any{"mode": "thresholds"}},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
		}).
		Thresholds(coverageSteps()).
		ColorScheme(thresholdColours()).
		Height(height).Span(span)
}
