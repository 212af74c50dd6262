package promcheck

import (
	"encoding/json"
	"fmt"
)

// Dashboard is what the checks need of a Grafana dashboard's JSON: its
// variables and every Prometheus query of its panels.
type Dashboard struct {
	UID       string
	Variables []Variable
	Queries   []Query
}

// Variable is one templating variable.
type Variable struct {
	Name       string
	Type       string // query, datasource, …
	Query      string // for a query variable: label_values(selector, label)
	Multi      bool
	IncludeAll bool
	AllValue   string
}

// Query is one panel query.
type Query struct {
	Panel   string // the panel's title
	Repeat  string // the variable the panel's row repeats over, if any
	RefID   string
	Expr    string
	Instant bool // an instant query (else a range query)
}

// Where names q for messages.
func (q Query) Where() string { return fmt.Sprintf("panel %q query %s", q.Panel, q.RefID) }

type panelJSON struct {
	Title   string `json:"title"`
	Repeat  string `json:"repeat"`
	Targets []struct {
		RefID   string `json:"refId"`
		Expr    string `json:"expr"`
		Instant bool   `json:"instant"`
		Range   bool   `json:"range"`
	} `json:"targets"`
	Panels []panelJSON `json:"panels"`
}

// ReadDashboard reads a dashboard's JSON.
func ReadDashboard(b []byte) (Dashboard, error) {
	var raw struct {
		UID        string      `json:"uid"`
		Panels     []panelJSON `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Query      any    `json:"query"`
				Multi      bool   `json:"multi"`
				IncludeAll bool   `json:"includeAll"`
				AllValue   string `json:"allValue"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Dashboard{}, fmt.Errorf("reading dashboard: %w", err)
	}
	d := Dashboard{UID: raw.UID}
	for _, v := range raw.Templating.List {
		q, _ := v.Query.(string)
		d.Variables = append(d.Variables, Variable{Name: v.Name, Type: v.Type, Query: q, Multi: v.Multi, IncludeAll: v.IncludeAll, AllValue: v.AllValue})
	}
	var walk func(ps []panelJSON, repeat string)
	walk = func(ps []panelJSON, repeat string) {
		for _, p := range ps {
			r := repeat
			if p.Repeat != "" {
				r = p.Repeat
			}
			for _, t := range p.Targets {
				d.Queries = append(d.Queries, Query{Panel: p.Title, Repeat: r, RefID: t.RefID, Expr: t.Expr, Instant: t.Instant && !t.Range})
			}
			walk(p.Panels, r)
		}
	}
	walk(raw.Panels, "")
	return d, nil
}

// Selection is what is picked in one variable: some values, or All.
type Selection struct {
	Values []string
	All    bool
}

// Values turns selections by variable name into the values Grafana would
// interpolate, taking each variable's multi-value and all-value settings
// from the dashboard. Every query variable must have a selection.
func (d Dashboard) Values(sel map[string]Selection) (map[string]Value, error) {
	out := map[string]Value{}
	for _, v := range d.Variables {
		if v.Type != "query" {
			continue
		}
		s, ok := sel[v.Name]
		if !ok {
			return nil, fmt.Errorf("no selection for variable %s", v.Name)
		}
		multi := v.Multi || v.IncludeAll
		switch {
		case s.All && !v.IncludeAll:
			return nil, fmt.Errorf("variable %s has no All option", v.Name)
		case !multi && len(s.Values) != 1 && !s.All:
			return nil, fmt.Errorf("variable %s takes one value, got %q", v.Name, s.Values)
		}
		out[v.Name] = Value{Values: s.Values, Multi: multi, All: s.All, AllValue: v.AllValue}
	}
	return out, nil
}

// Scoped returns vals with name set to the single value v, as Grafana
// scopes a repeated row's variable to each of its values.
func Scoped(vals map[string]Value, name, v string) map[string]Value {
	out := make(map[string]Value, len(vals))
	for k, x := range vals {
		out[k] = x
	}
	out[name] = Value{Values: []string{v}}
	return out
}
