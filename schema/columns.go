package schema

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// ColumnStat is one extra column of a sweep point: a number read from each
// repetition's summary.json at Path, as median/min/max over the
// repetitions that have it (nil Stat: none has).
type ColumnStat struct {
	Path  string `json:"path"`
	*Stat `json:",omitempty"`
}

// CheckColumn checks that path (dotted, as a sweep file's columns: give
// it) names a number in a run's summary.json: the JSON field names of
// workers.Summary, a list index as digits (dead_peer.top.0.queued), and
// below a map the key (latency.connect.p50_us).
func CheckColumn(path string) error {
	t := reflect.TypeFor[Summary]()
	parts := strings.Split(path, ".")
	for i := 0; i < len(parts); i++ {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := jsonField(t, parts[i])
			if !ok {
				return fmt.Errorf("summary.json has no field %q at %s (there: %s)", parts[i], where(parts[:i]), strings.Join(jsonNames(t), ", "))
			}
			t = f.Type
		case reflect.Slice, reflect.Array:
			if _, err := strconv.Atoi(parts[i]); err != nil {
				return fmt.Errorf("%s is a list: the next part must be an index such as 0, got %q", where(parts[:i]), parts[i])
			}
			t = t.Elem()
		case reflect.Map:
			t = t.Elem() // the part is the key
		default:
			return fmt.Errorf("%s is a value; nothing is below it", where(parts[:i]))
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if writtenAsText(t) {
		return fmt.Errorf("%s is written as text in summary.json, not a number", path)
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return nil
	case reflect.Struct:
		return fmt.Errorf("%s is an object, not a number (its fields: %s)", path, strings.Join(jsonNames(t), ", "))
	default:
		return fmt.Errorf("%s is not a number", path)
	}
}

func where(parts []string) string {
	if len(parts) == 0 {
		return "the top"
	}
	return strings.Join(parts, ".")
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" && !f.Anonymous {
		return f.Name
	}
	return name
}

func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if jsonName(f) == name {
			return f, true
		}
		if f.Anonymous && jsonName(f) == "" {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if ef, ok := jsonField(et, name); ok {
					ef.Index = append([]int{i}, ef.Index...) // its path from t
					return ef, true
				}
			}
		}
	}
	return reflect.StructField{}, false
}

func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if n := jsonName(t.Field(i)); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// columnValue reads the number at path (checked by CheckColumn) from a
// run's summary, walking the fields summary.json is written from; ok is
// false when the run does not have it (a nil section or pointer, a map
// without the key, an index past the list's end). A number summary.json
// leaves out when zero (omitempty) is read as the 0 it is.
func columnValue(s *Summary, path string) (float64, bool) {
	v := reflect.ValueOf(s)
	for _, p := range strings.Split(path, ".") {
		if v = deref(v); !v.IsValid() {
			return 0, false
		}
		switch v.Kind() {
		case reflect.Struct:
			f, ok := jsonField(v.Type(), p)
			if !ok {
				return 0, false
			}
			var err error
			if v, err = v.FieldByIndexErr(f.Index); err != nil {
				return 0, false // through a nil embedded pointer
			}
		case reflect.Slice, reflect.Array:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= v.Len() {
				return 0, false
			}
			v = v.Index(i)
		case reflect.Map:
			if v.Type().Key().Kind() != reflect.String {
				return 0, false
			}
			v = v.MapIndex(reflect.ValueOf(p).Convert(v.Type().Key()))
		default:
			return 0, false
		}
	}
	if v = deref(v); !v.IsValid() || writtenAsText(v.Type()) {
		return 0, false
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return 0, false
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// writtenAsText reports whether summary.json writes a t through its own
// marshaller (a scenarios.Duration is "5s", not a number).
func writtenAsText(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || p.Implements(jsonMarshaler) || p.Implements(textMarshaler)
}

// deref follows pointers and interfaces; the result is invalid at a nil.
func deref(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

// ColumnStats summarises each column over the runs of one point (nil
// entries: not run).
func ColumnStats(paths []string, runs []*Summary) []ColumnStat {
	out := make([]ColumnStat, 0, len(paths))
	for _, p := range paths {
		var xs []float64
		for _, s := range runs {
			if s == nil {
				continue
			}
			if x, ok := columnValue(s, p); ok {
				xs = append(xs, x)
			}
		}
		out = append(out, ColumnStat{Path: p, Stat: StatOf(xs)})
	}
	return out
}
