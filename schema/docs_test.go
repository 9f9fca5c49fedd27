package schema

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/scenarios"
)

// docFieldNames lists the JSON field names of t, recursively, except inside
// the embedded scenario (documented in docs/scenarios.md).
func docFieldNames(t reflect.Type, seen map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || t == reflect.TypeFor[scenarios.Scenario]() || t.PkgPath() == "time" {
		return nil
	}
	seen[t] = true
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" && f.Anonymous {
			names = append(names, docFieldNames(f.Type, seen)...) // inline (Sections)
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		if f.Type != reflect.TypeFor[scenarios.Socket]() {
			names = append(names, docFieldNames(f.Type, seen)...)
		}
	}
	return names
}

// TestResultsDocListsEveryField keeps docs/results.md in step with the
// summary and timeline types.
func TestResultsDocListsEveryField(t *testing.T) {
	b, err := os.ReadFile("../docs/results.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	seen := map[reflect.Type]bool{}
	var names []string
	for _, typ := range []reflect.Type{reflect.TypeFor[Summary](), reflect.TypeFor[Sample](), reflect.TypeFor[StartLine](), reflect.TypeFor[EndLine](), reflect.TypeFor[EventLine]()} {
		names = append(names, docFieldNames(typ, seen)...)
	}
	for _, n := range names {
		if !strings.Contains(doc, "`"+n+"`") {
			t.Errorf("docs/results.md does not mention field `%s`", n)
		}
	}
}
