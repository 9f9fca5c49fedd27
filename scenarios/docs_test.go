package scenarios

import (
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// docRow is one field row of docs/scenarios.md.
type docRow struct {
	path, def, allowed string
	line               int
}

func readDocRows(t *testing.T) map[string]docRow {
	t.Helper()
	b, err := os.ReadFile("../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]docRow{}
	for i, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 6 {
			continue
		}
		path := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if strings.ContainsAny(path, " ") || !strings.ContainsAny(path, "abcdefghijklmnopqrstuvwxyz") {
			continue
		}
		if _, dup := rows[path]; dup {
			t.Errorf("docs/scenarios.md:%d: field %s documented twice", i+1, path)
		}
		rows[path] = docRow{path: path, def: strings.TrimSpace(cells[3]), allowed: strings.TrimSpace(cells[4]), line: i + 1}
	}
	return rows
}

// leafPaths lists every field a scenario file can set, as documented:
// nested keys joined by dots, list elements as [].
func leafPaths(t reflect.Type, prefix string) []string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[Duration]() {
		return []string{prefix}
	}
	switch t.Kind() {
	case reflect.Struct:
		var out []string
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue // not in files (a threshold's position)
			}
			out = append(out, leafPaths(t.Field(i).Type, joinPath(prefix, yamlName(t.Field(i))))...)
		}
		return out
	case reflect.Slice:
		return leafPaths(t.Elem(), prefix+"[]")
	}
	return []string{prefix}
}

// defaultAt renders the default value at a documented path for the kind
// owning that path's section, "" when it is empty.
func defaultAt(path string) string {
	kind := Kinds[0]
	for _, k := range Kinds {
		if strings.HasPrefix(path, strings.ReplaceAll(k, "-", "_")+".") {
			kind = k
		}
	}
	s := Default(kind)
	v := reflect.ValueOf(s)
	for _, part := range strings.Split(path, ".") {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return ""
			}
			v = v.Elem()
		}
		name := strings.TrimSuffix(part, "[]")
		f, ok := fieldByName(v, name)
		if !ok {
			return ""
		}
		v = f
		if strings.HasSuffix(part, "[]") && v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct {
			return "" // defaults of list elements: none
		}
	}
	switch x := v.Interface().(type) {
	case Duration:
		return fmtDuration(time.Duration(x))
	case string:
		return x
	case []string:
		return strings.Join(x, ", ")
	case map[string]string:
		if len(x) == 0 {
			return "" // none
		}
	}
	return fmt.Sprint(v.Interface())
}

func TestDocsListEveryField(t *testing.T) {
	rows := readDocRows(t)
	paths := leafPaths(reflect.TypeFor[Scenario](), "")
	for _, p := range paths {
		if _, ok := rows[p]; !ok {
			t.Errorf("field %s is not documented in docs/scenarios.md", p)
		}
	}
	for p, r := range rows {
		if !slices.Contains(paths, p) {
			t.Errorf("docs/scenarios.md:%d documents %s, which the scenario format does not have", r.line, p)
		}
	}
}

func TestDocsDefaults(t *testing.T) {
	for p, r := range readDocRows(t) {
		want := defaultAt(p)
		if want == "" || p == "kind" { // kind has no default: it picks the defaults
			continue
		}
		if !strings.Contains(r.def, "`"+want+"`") {
			t.Errorf("docs/scenarios.md:%d: %s default is %q in the docs, `%s` in the code", r.line, p, r.def, want)
		}
	}
}

func TestDocsBoundsAndNames(t *testing.T) {
	rows := readDocRows(t)
	for p, b := range Bounds {
		r, ok := rows[p]
		if !ok {
			t.Errorf("bound for %s, which docs/scenarios.md does not list", p)
			continue
		}
		if !strings.Contains(r.allowed, b.String()) {
			t.Errorf("docs/scenarios.md:%d: %s allowed is %q in the docs, %q in the validator", r.line, p, r.allowed, b.String())
		}
	}
	all := maps.Clone(Enums)
	all["kind"] = Kinds
	for p, names := range all {
		r, ok := rows[p]
		if !ok {
			t.Errorf("names for %s, which docs/scenarios.md does not list", p)
			continue
		}
		for _, n := range names {
			if !strings.Contains(r.allowed, "`"+n+"`") {
				t.Errorf("docs/scenarios.md:%d: %s allows %q in the validator, not in the docs", r.line, p, n)
			}
		}
		if got, want := strings.Count(r.allowed, "`"), 2*len(names); got != want {
			t.Errorf("docs/scenarios.md:%d: %s lists %d names in the docs, the validator allows %d", r.line, p, got/2, len(names))
		}
	}
}
