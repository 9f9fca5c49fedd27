package scenarios

import (
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

// Sweep is a sweep file: a base scenario, axes of values to vary in it,
// and how often to repeat each point (combination of values). See
// docs/lab.md.
type Sweep struct {
	// Name names the sweep; results go to results/<name>/<timestamp>/.
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Base is the path of the base scenario file, relative to the sweep
	// file; exclusive with Scenario.
	Base string `yaml:"base,omitempty" json:"base,omitempty"`
	// Scenario is the base scenario written inline.
	Scenario *yaml.Node `yaml:"scenario,omitempty" json:"-"`
	// Axes are the settings varied; the sweep runs every combination.
	Axes []Axis `yaml:"axes" json:"axes"`
	// Repetitions is how many times each point runs, each in a fresh cell.
	Repetitions int `yaml:"repetitions" json:"repetitions"`
	// Columns are extra results to tabulate per point: dotted paths into
	// each run's summary.json (half_open.completed,
	// dead_peer.mean_queued_total), summarised as median/min/max over the
	// repetitions. CheckColumns checks them against the summary's fields.
	Columns []string `yaml:"columns,omitempty" json:"columns,omitempty"`

	file   string
	colPos []*yaml.Node
}

// MaxColumns is the most columns a sweep file may name.
const MaxColumns = 16

var columnRE = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)

// CheckColumns checks each column path with check (which knows the run
// summary's fields), reporting every bad one at its position in the sweep
// file.
func (sw *Sweep) CheckColumns(check func(path string) error) error {
	var ps Problems
	for i, c := range sw.Columns {
		if err := check(c); err != nil {
			p := Problem{File: sw.file, Line: 1, Column: 1, Path: fmt.Sprintf("columns[%d]", i),
				Msg: fmt.Sprintf("columns[%d] %q: %v", i, c, err)}
			if i < len(sw.colPos) && sw.colPos[i] != nil {
				p.Line, p.Column = sw.colPos[i].Line, sw.colPos[i].Column
			}
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		return ps
	}
	return nil
}

// Axis is one setting varied by a sweep.
type Axis struct {
	// Path is the scenario field, dotted: socket.sndbuf,
	// cell.client.sysctls.net.ipv4.ip_local_port_range.
	Path string `yaml:"path" json:"path"`
	// Values are the values the field takes, in order.
	Values []yaml.Node `yaml:"values" json:"-"`
}

// Limits of a sweep file.
const (
	MaxAxes        = 8
	MaxAxisValues  = 100
	MaxRepetitions = 100
	MaxSweepPoints = 1000
)

// Point is one combination of axis values, with the scenario it makes.
type Point struct {
	Index int `json:"index"`
	// Values holds each axis's value as written (YAML), in axis order.
	Values []string `json:"values"`
	// Scenario is the resolved scenario of the point.
	Scenario *Scenario `json:"-"`
	// Source is the point's scenario as a YAML document (Parse reads it).
	Source string `json:"scenario"`
}

// LoadSweep reads, decodes and validates a sweep file and builds every
// point's scenario; every problem is reported at once (Problems), at the
// position in the sweep file (or the base scenario file) it comes from.
func LoadSweep(path string) (*Sweep, []Point, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, Problems{{File: path, Msg: fmt.Sprintf("cannot read sweep: %v", err)}}
	}
	return ParseSweep(path, data)
}

// ParseSweep decodes a sweep file's contents; name is its path (a
// relative base is resolved against its directory).
func ParseSweep(name string, data []byte) (*Sweep, []Point, error) {
	if len(data) > MaxFileSize {
		return nil, nil, Problems{{File: name, Line: 1, Column: 1, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}}
	}
	var doc yaml.Node
	if err := yaml.Load(data, &doc); err != nil {
		return nil, nil, Problems{yamlProblem(name, err)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil, Problems{{File: name, Line: root.Line, Column: root.Column, Msg: "a sweep is a mapping of keys (name, base or scenario, axes, repetitions)"}}
	}
	sw := Sweep{Repetitions: 1}
	d := &decoder{root: "the sweep", file: name, pos: map[string]*yaml.Node{"": root}}
	d.decode(root, reflect.ValueOf(&sw).Elem(), "", 0)
	if len(d.problems) > 0 {
		return nil, nil, d.problems
	}
	if sw.Name == "" || !nameRE.MatchString(sw.Name) {
		d.addAt("name", fmt.Sprintf("name %q: required; lowercase letters, digits, '.', '_' or '-', at most 64", sw.Name))
	}
	if (sw.Base == "") == (sw.Scenario == nil) {
		d.addAt("base", "give base (a scenario file) or scenario (inline), exactly one")
	}
	if sw.Repetitions < 1 || sw.Repetitions > MaxRepetitions {
		d.addAt("repetitions", fmt.Sprintf("repetitions: %d is out of range (allowed: 1–%d)", sw.Repetitions, MaxRepetitions))
	}
	sw.file = name
	if len(sw.Columns) > MaxColumns {
		d.addAt("columns", fmt.Sprintf("columns: want at most %d, got %d", MaxColumns, len(sw.Columns)))
	}
	colSeen := map[string]bool{}
	for i, c := range sw.Columns {
		p := fmt.Sprintf("columns[%d]", i)
		sw.colPos = append(sw.colPos, d.pos[p])
		switch {
		case !columnRE.MatchString(c):
			d.addAt(p, fmt.Sprintf("%s %q: want a dotted path into summary.json such as half_open.completed (lowercase names, digits for list indexes)", p, c))
		case colSeen[c]:
			d.addAt(p, fmt.Sprintf("%s %q is given twice", p, c))
		}
		colSeen[c] = true
	}
	if len(sw.Axes) < 1 || len(sw.Axes) > MaxAxes {
		d.addAt("axes", fmt.Sprintf("axes: want 1–%d axes, got %d", MaxAxes, len(sw.Axes)))
	}
	total := 1
	seen := map[string]bool{}
	for i, a := range sw.Axes {
		p := fmt.Sprintf("axes[%d]", i)
		if err := checkPath(a.Path); err != nil {
			d.addAt(p+".path", fmt.Sprintf("%s.path %q: %v", p, a.Path, err))
		}
		if seen[a.Path] {
			d.addAt(p+".path", fmt.Sprintf("%s.path %q is given twice", p, a.Path))
		}
		seen[a.Path] = true
		if len(a.Values) < 1 || len(a.Values) > MaxAxisValues {
			d.addAt(p+".values", fmt.Sprintf("%s.values: want 1–%d values, got %d", p, MaxAxisValues, len(a.Values)))
		}
		total *= max(len(a.Values), 1)
	}
	if total > MaxSweepPoints {
		d.addAt("axes", fmt.Sprintf("axes: %d points; at most %d", total, MaxSweepPoints))
	}
	if len(d.problems) > 0 {
		return nil, nil, d.problems
	}

	// The base scenario, as a YAML tree. An inline one is decoded once as
	// it is, so its own problems are placed where it says them.
	baseFile, base := name, sw.Scenario
	if sw.Base == "" {
		if _, err := parseNode(name, deepCopy(base)); err != nil {
			return nil, nil, err
		}
	}
	if sw.Base != "" {
		baseFile = sw.Base
		if !filepath.IsAbs(baseFile) {
			baseFile = filepath.Join(filepath.Dir(name), baseFile)
		}
		b, err := readFile(baseFile)
		if err != nil {
			return nil, nil, Problems{{File: baseFile, Line: 1, Column: 1, Msg: fmt.Sprintf("cannot read scenario: %v", err)}}
		}
		// Parse it once as is, so its own problems carry its own positions.
		if _, err := Parse(baseFile, b); err != nil {
			return nil, nil, err
		}
		var bd yaml.Node
		if err := yaml.Load(b, &bd); err != nil {
			return nil, nil, Problems{yamlProblem(baseFile, err)}
		}
		base = bd.Content[0]
	}

	var points []Point
	idx := make([]int, len(sw.Axes))
	for {
		tree := deepCopy(base)
		pt := Point{Index: len(points)}
		for ai, a := range sw.Axes {
			v := &a.Values[idx[ai]]
			setPath(tree, a.Path, deepCopy(v))
			if v.Kind == yaml.ScalarNode {
				pt.Values = append(pt.Values, v.Value)
			} else {
				flow := deepCopy(v)
				setFlow(flow)
				b, _ := yaml.Marshal(flow)
				pt.Values = append(pt.Values, strings.TrimSpace(string(b)))
			}
		}
		src, err := yaml.Marshal(tree)
		if err != nil {
			return nil, nil, Problems{{File: name, Msg: fmt.Sprintf("point %d: %v", pt.Index, err)}}
		}
		sc, err := Parse(baseFile, src)
		if ps, ok := err.(Problems); ok {
			// Report at the values that made this point.
			for _, p := range ps {
				at := sw.Axes[0].Values[idx[0]]
				for ai, a := range sw.Axes {
					if p.Path == a.Path || strings.HasPrefix(p.Path, a.Path+".") {
						at = a.Values[idx[ai]]
					}
				}
				d.add(&at, p.Path, fmt.Sprintf("point %d (%s): %s", pt.Index, strings.Join(pt.Values, ", "), p.Msg))
			}
		} else if err != nil {
			return nil, nil, err
		} else {
			pt.Scenario, pt.Source = sc, string(src)
			points = append(points, pt)
		}
		// Next combination; the last axis varies fastest.
		k := len(idx) - 1
		for k >= 0 {
			idx[k]++
			if idx[k] < len(sw.Axes[k].Values) {
				break
			}
			idx[k] = 0
			k--
		}
		if k < 0 {
			break
		}
		if len(d.problems) > 0 {
			break // one bad point is enough to show
		}
	}
	if len(d.problems) > 0 {
		return nil, nil, d.problems
	}
	return &sw, points, nil
}

// checkPath checks that path names a scenario field, or an entry of a
// map field (a sysctl name, which has dots of its own).
func checkPath(path string) error {
	if path == "" {
		return fmt.Errorf("empty")
	}
	t := reflect.TypeFor[Scenario]()
	parts := strings.Split(path, ".")
	for i := 0; i < len(parts); i++ {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := structField(t, parts[i])
			if !ok {
				return fmt.Errorf("no field %q (allowed: %s)", parts[i], strings.Join(fieldNames(t), ", "))
			}
			if parts[i] == "name" || parts[i] == "kind" {
				return fmt.Errorf("a sweep varies settings, not the scenario's %s", parts[i])
			}
			t = f.Type
		case reflect.Map:
			return nil // the rest is the key
		default:
			return fmt.Errorf("%s is a value; nothing is below it", strings.Join(parts[:i], "."))
		}
	}
	return nil
}

func structField(t reflect.Type, name string) (reflect.StructField, bool) {
	if i := fieldIndex(t, name); i >= 0 {
		return t.Field(i), true
	}
	return reflect.StructField{}, false
}

// setPath sets path (checked by checkPath) in a scenario's YAML tree to
// val, creating the mappings on the way.
func setPath(root *yaml.Node, path string, val *yaml.Node) {
	t := reflect.TypeFor[Scenario]()
	parts := strings.Split(path, ".")
	n := root
	for i := 0; i < len(parts); i++ {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		key := parts[i]
		last := i == len(parts)-1
		if t.Kind() == reflect.Map {
			key, last = strings.Join(parts[i:], "."), true
			i = len(parts)
		} else {
			f, _ := structField(t, key)
			t = f.Type
		}
		if n.Kind != yaml.MappingNode {
			*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		var child *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key {
				child = n.Content[j+1]
			}
		}
		if child == nil {
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, child)
		}
		if last {
			*child = *val
			return
		}
		n = child
	}
}

func deepCopy(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = slices.Clone(n.Content)
	for i, e := range c.Content {
		c.Content[i] = deepCopy(e)
	}
	return &c
}

// setFlow makes a value print on one line ({rate: 1mbit, burst: 1600}).
func setFlow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	for _, c := range n.Content {
		setFlow(c)
	}
}

// LooksLikeSweep reports whether the file at path is a sweep file rather
// than a scenario: a YAML mapping with an axes key. It reads only regular
// files; anything unreadable is not a sweep (the caller's own read says
// why).
func LooksLikeSweep(path string) bool {
	data, err := readFile(path)
	if err != nil || len(data) > MaxFileSize {
		return false
	}
	var doc yaml.Node
	if yaml.Load(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return false
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "axes" {
			return true
		}
	}
	return false
}
