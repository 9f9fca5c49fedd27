package report

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/nobufs/nobufs/scenarios"
	"github.com/nobufs/nobufs/schema"
)

// Setting is one setting in force, as a name and a value.
type Setting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ScenarioSettings lists what a scenario set that decides what ran: the
// kind, the load, the target, the kind's section, socket options and
// limits that differ from the defaults, the stop bounds and the cell's
// sysctls and shaping.
func ScenarioSettings(sc *scenarios.Scenario) []Setting {
	if sc == nil {
		return nil
	}
	var out []Setting
	add := func(n, v string) { out = append(out, Setting{n, v}) }
	add("kind", sc.Kind)
	l := sc.Load
	switch {
	case l.Model == scenarios.ModelOpen && len(l.Stages) > 0:
		var st []string
		for _, s := range l.Stages {
			st = append(st, fmt.Sprintf("%s→%g/s", s.Duration, s.Target))
		}
		add("load", fmt.Sprintf("open from %g/s, stages %s, %s", l.Rate, strings.Join(st, " "), plural(l.Workers, "worker")))
	case l.Model == scenarios.ModelOpen:
		add("load", fmt.Sprintf("open %g/s %s, %s", l.Rate, l.Arrival, plural(l.Workers, "worker")))
	default:
		add("load", fmt.Sprintf("closed, %s", plural(l.Workers, "worker")))
	}
	if sc.Target.Address != "" {
		add("target", sc.Target.Address)
	} else {
		add("target", "built-in "+sc.Target.Builtin)
	}
	def := scenarios.Default(sc.Kind)
	for _, k := range scenarios.KindSpecs {
		if k.Name != sc.Kind {
			continue
		}
		defaults := map[string]string{}
		for _, f := range sectionFields(&def, k.Section) {
			defaults[f.Name] = f.Value
		}
		for _, f := range sectionFields(sc, k.Section) {
			v := f.Value
			if d, ok := defaults[f.Name]; ok && d == v {
				v += defaultMark
			}
			add(k.Section+"."+f.Name, v)
		}
	}
	for _, f := range changedFields("socket", reflect.ValueOf(sc.Socket), reflect.ValueOf(def.Socket)) {
		add(f.Name, f.Value)
	}
	if sc.Limits.NoFile > 0 {
		add("limits.nofile", strconv.FormatUint(sc.Limits.NoFile, 10))
	}
	stop := fmt.Sprintf("after %s or %d ops", sc.Stop.Duration, sc.Stop.MaxOps)
	if sc.Stop.OnFailure {
		stop += ", at the failure"
		if sc.Stop.AfterFailure > 0 {
			stop += " + " + sc.Stop.AfterFailure.String()
		}
	}
	add("stop", stop)
	add("failure classes", strings.Join(sc.Failure.Classes, ", "))
	if c := sc.Cell; c != nil {
		for _, side := range []struct {
			name string
			sys  map[string]scenarios.SysctlValue
		}{{"client", c.Client.Sysctls}, {"target", c.Target.Sysctls}} {
			ks := make([]string, 0, len(side.sys))
			for k := range side.sys {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			for _, k := range ks {
				add("cell."+side.name+" "+k, string(side.sys[k]))
			}
		}
		if sh := c.Shaping; sh != nil {
			add("cell.shaping", fmt.Sprintf("tbf rate %s burst %d limit %d", sh.Rate, sh.Burst, sh.Limit))
		}
		for _, f := range c.Faults {
			add("cell.fault", fmt.Sprintf("%s at %s", f.Action, f.At))
		}
	}
	return out
}

// defaultMark follows a kind section's value that is its default.
const defaultMark = " (default)"

// sectionFields lists the kind section's fields as summary.json writes
// them, nested keys dotted, empty ones left out.
func sectionFields(sc *scenarios.Scenario, section string) []Setting {
	b, err := json.Marshal(sc)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	sec, ok := m[section].(map[string]any)
	if !ok {
		return nil
	}
	var out []Setting
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			ks := make([]string, 0, len(x))
			for k := range x {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			for _, k := range ks {
				walk(joinDot(prefix, k), x[k])
			}
		case nil:
		case string:
			if x != "" && x != "0s" {
				out = append(out, Setting{prefix, x})
			}
		case float64:
			if x != 0 {
				out = append(out, Setting{prefix, strconv.FormatFloat(x, 'f', -1, 64)})
			}
		case bool:
			if x {
				out = append(out, Setting{prefix, "true"})
			}
		default:
			b, _ := json.Marshal(x)
			if s := string(b); s != "[]" && s != "{}" {
				out = append(out, Setting{prefix, s})
			}
		}
	}
	walk("", sec)
	return out
}

func joinDot(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// changedFields lists the fields of struct v that differ from def, by
// their yaml names under prefix.
func changedFields(prefix string, v, def reflect.Value) []Setting {
	var out []Setting
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || !f.IsExported() {
			continue
		}
		a, b := v.Field(i).Interface(), def.Field(i).Interface()
		if reflect.DeepEqual(a, b) {
			continue
		}
		out = append(out, Setting{prefix + "." + name, fmt.Sprint(a)})
	}
	return out
}

// settingsLine joins the settings that vary between runs (not the kind,
// failure classes and target) on at most two lines of about width runes.
func settingsLine(sc *scenarios.Scenario, width int) string {
	var parts []string
	for _, s := range ScenarioSettings(sc) {
		switch s.Name {
		case "kind", "failure classes", "target":
			continue
		}
		if strings.HasSuffix(s.Value, defaultMark) {
			continue // the kind's defaults say nothing about this run
		}
		parts = append(parts, s.Name+" "+s.Value)
	}
	var lines []string
	cur := ""
	for _, p := range parts {
		if cur != "" && len([]rune(cur))+3+len([]rune(p)) > width {
			lines = append(lines, cur)
			cur = ""
			if len(lines) == 2 {
				break
			}
		}
		if cur != "" {
			cur += " · "
		}
		cur += p
	}
	if cur != "" && len(lines) < 2 {
		lines = append(lines, cur)
	} else if len(lines) == 2 {
		lines[1] += " …"
	}
	return strings.Join(lines, "\n")
}

// title is a figure's title for a run: the scenario and what the figure
// is, then the settings in force.
func title(s *schema.Summary, what string) string {
	name, kind := "?", "?"
	if s.Scenario != nil {
		name, kind = s.Scenario.Name, s.Scenario.Kind
	}
	t := fmt.Sprintf("%s (%s) — %s", name, kind, what)
	if l := settingsLine(s.Scenario, 110); l != "" {
		t += "\n" + l
	}
	return t
}
