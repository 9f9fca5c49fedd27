package scenarios

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nobufs/nobufs/internal/regular"
	"go.yaml.in/yaml/v4"
)

// MaxFileSize is the largest scenario file accepted, in bytes.
const MaxFileSize = 1 << 20

// maxDepth bounds how deeply a file may nest; no valid scenario nests more
// than a few levels.
const maxDepth = 16

// Problem is one thing wrong with a scenario file, at a position in it.
type Problem struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	Path   string
	Msg    string
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, max(p.Line, 1), max(p.Column, 1), p.Msg)
}

// Problems is every problem found in one or more files. It is the error
// returned for bad input; callers test for it with errors.As.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// LoadFile reads, decodes and validates the scenario file at path.
func LoadFile(path string) (*Scenario, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, Problems{{File: path, Line: 1, Column: 1, Msg: fmt.Sprintf("cannot read scenario: %v", err)}}
	}
	return Parse(path, data)
}

// readFile reads at most MaxFileSize+1 bytes of path: enough for Parse to
// tell a file that is too large.
// A FIFO, device or directory is refused at once (never waited on).
func readFile(path string) ([]byte, error) { return regular.ReadFile(path, MaxFileSize) }

// Parse decodes and validates a scenario file's contents; name is used in
// messages. The returned error, when not nil, is a Problems.
func Parse(name string, data []byte) (*Scenario, error) {
	if len(data) > MaxFileSize {
		return nil, Problems{{File: name, Line: 1, Column: 1, Msg: fmt.Sprintf("file is larger than %d bytes; a scenario is a short YAML document", MaxFileSize)}}
	}
	if !utf8.Valid(data) || slices.Contains(data, 0) {
		return nil, Problems{{File: name, Line: 1, Column: 1, Msg: "file is not UTF-8 text; a scenario is a YAML document"}}
	}
	if onlyComments(data) {
		return nil, Problems{{File: name, Line: 1, Column: 1, Msg: "file is empty; a scenario needs at least name and kind"}}
	}
	var doc yaml.Node
	if err := yaml.Load(data, &doc); err != nil {
		return nil, Problems{yamlProblem(name, err)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, Problems{{File: name, Line: 1, Column: 1, Msg: "file is empty; a scenario needs at least name and kind"}}
		}
		root = root.Content[0]
	}
	if root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		return nil, Problems{{File: name, Line: 1, Column: 1, Msg: "file is empty; a scenario needs at least name and kind"}}
	}
	return parseNode(name, root)
}

// parseNode decodes and validates a scenario from its YAML tree, whose
// nodes carry their positions in the file name (an inline sweep scenario
// is decoded this way, at its place in the sweep file).
func parseNode(name string, root *yaml.Node) (*Scenario, error) {
	if root.Kind != yaml.MappingNode {
		return nil, Problems{{File: name, Line: root.Line, Column: root.Column, Msg: "a scenario is a mapping of keys (name, kind, target, load, …), got " + nodeKind(root)}}
	}
	d := &decoder{file: name, pos: map[string]*yaml.Node{}}
	kind := ""
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "kind" && root.Content[i+1].Kind == yaml.ScalarNode {
			kind = root.Content[i+1].Value
		}
	}
	s := Default(kind)
	d.pos[""] = root
	d.decode(root, reflect.ValueOf(&s).Elem(), "", 0)
	d.placeThresholds(&s)
	// Validate even when decoding found problems, so that one pass reports
	// everything; skip fields whose value could not be decoded.
	bad := map[string]bool{}
	for _, p := range d.problems {
		bad[p.Path] = true
	}
	Resolve(&s)
	resolveWire(&s, filepath.Dir(name))
	if k, ok := kindSpec(s.Kind); ok && k.Resolve != nil {
		k.Resolve(&s, func(path string) bool { _, ok := d.pos[path]; return ok })
	}
	for _, fe := range validate(&s) {
		if !bad[fe.path] {
			d.addAt(fe.path, fe.msg)
		}
	}
	if len(d.problems) > 0 {
		slices.SortStableFunc(d.problems, func(a, b Problem) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		return nil, d.problems
	}
	return &s, nil
}

func yamlProblem(name string, err error) Problem {
	var le *yaml.LoadError
	if errors.As(err, &le) {
		return Problem{File: name, Line: max(le.Mark.Line, 1), Column: max(le.Mark.Column, 1), Msg: "not valid YAML: " + le.Message}
	}
	return Problem{File: name, Line: 1, Column: 1, Msg: "not valid YAML: " + err.Error()}
}

type decoder struct {
	// root names the document in messages ("the scenario" when empty).
	root     string
	file     string
	pos      map[string]*yaml.Node // field path → value node
	problems Problems
}

func (d *decoder) rootName() string {
	if d.root == "" {
		return "the scenario"
	}
	return d.root
}

func (d *decoder) add(n *yaml.Node, path, msg string) {
	p := Problem{File: d.file, Path: path, Msg: msg, Line: 1, Column: 1}
	if n != nil {
		p.Line, p.Column = max(n.Line, 1), max(n.Column, 1)
	}
	d.problems = append(d.problems, p)
}

// addAt reports msg at the value of path, or at the nearest enclosing key
// the file has when the value came from the defaults.
func (d *decoder) addAt(path, msg string) {
	for p := path; ; {
		if n, ok := d.pos[p]; ok {
			d.add(n, path, msg)
			return
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			if n, ok := d.pos[""]; ok {
				d.add(n, path, msg)
			} else {
				d.add(nil, path, msg)
			}
			return
		}
		p = p[:i]
	}
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	yamlNodeType    = reflect.TypeFor[yaml.Node]()
)

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	if depth > maxDepth {
		d.add(n, path, fmt.Sprintf("nested more than %d levels deep", maxDepth))
		return
	}
	if n.Kind == yaml.AliasNode {
		d.add(n, path, "aliases (*name) are not allowed in scenario files; write the value out")
		return
	}
	d.pos[path] = n
	if v.Kind() == reflect.Pointer {
		if n.ShortTag() == "!!null" {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path, depth)
		return
	}
	if v.Type() == yamlNodeType {
		v.Set(reflect.ValueOf(*deepCopy(n)))
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		if n.Kind != yaml.ScalarNode {
			want := "a duration like 500ms, 5s or 2m"
			if w, ok := v.Addr().Interface().(interface{ want() string }); ok {
				want = w.want()
			}
			d.add(n, path, fmt.Sprintf("%s: want %s, got %s", label(path), want, nodeKind(n)))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.add(n, path, fmt.Sprintf("%s: %v", label(path), err))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			return // "load:" with nothing under it keeps the defaults
		}
		if n.Kind != yaml.MappingNode {
			d.add(n, path, fmt.Sprintf("%s: want a mapping of keys (%s), got %s", label(path), strings.Join(fieldNames(v.Type()), ", "), nodeKind(n)))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.add(k, path, fmt.Sprintf("%s: keys must be plain names, got %s", label(path), nodeKind(k)))
				continue
			}
			sub := joinPath(path, k.Value)
			if seen[k.Value] {
				d.add(k, sub, fmt.Sprintf("key %q is given twice", sub))
				continue
			}
			seen[k.Value] = true
			f, ok := fieldByName(v, k.Value)
			if !ok {
				d.add(k, sub, fmt.Sprintf("unknown key %q in %s (allowed: %s)", k.Value, labelOr(path, d.rootName()), strings.Join(fieldNames(v.Type()), ", ")))
				continue
			}
			d.decode(val, f, sub, depth+1)
		}
	case reflect.Map:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			v.Set(reflect.MakeMap(v.Type()))
			return
		}
		if n.Kind != yaml.MappingNode {
			d.add(n, path, fmt.Sprintf("%s: want a mapping of names to values, got %s", label(path), nodeKind(n)))
			return
		}
		out := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				d.add(k, path, fmt.Sprintf("%s: keys must be plain names, got %s", label(path), nodeKind(k)))
				continue
			}
			sub := joinPath(path, k.Value)
			key := reflect.ValueOf(k.Value).Convert(v.Type().Key())
			if out.MapIndex(key).IsValid() {
				d.add(k, sub, fmt.Sprintf("key %q is given twice", sub))
				continue
			}
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, e, sub, depth+1)
			out.SetMapIndex(key, e)
		}
		v.Set(out)
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.add(n, path, fmt.Sprintf("%s: want a list, got %s", label(path), nodeKind(n)))
			return
		}
		out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			d.decode(e, out.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
		v.Set(out)
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.add(n, path, fmt.Sprintf("%s: want %s, got %s", label(path), typeWord(v.Kind()), nodeKind(n)))
		return
	}
	tag := n.ShortTag()
	bad := func() {
		d.add(n, path, fmt.Sprintf("%s: want %s, got %q", label(path), typeWord(v.Kind()), n.Value))
	}
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	tagged := n.Style&yaml.TaggedStyle != 0 && tag != "!!int"
	// integer reads an integer field's value: decimal digits as written
	// (a YAML reader may take 010 as octal, 0x10 as hex: refused rather
	// than guessed), an optional sign, _ between digits; never text in
	// quotes or a value tagged as another type. -0 is 0.
	integer := func() (string, bool) {
		switch {
		case quoted:
			d.add(n, path, fmt.Sprintf("%s: want %s, got the text %q (write it without quotes)", label(path), typeWord(v.Kind()), n.Value))
		case tagged:
			d.add(n, path, fmt.Sprintf("%s: want %s, got %q tagged %s", label(path), typeWord(v.Kind()), n.Value, tag))
		case !decimalRE.MatchString(n.Value):
			if strings.TrimSpace(n.Value) != "" && intRE.MatchString(strings.TrimLeft(n.Value, "+-")) || radixRE.MatchString(n.Value) {
				d.add(n, path, fmt.Sprintf("%s: want a decimal integer without leading zeros or a 0x/0o/0b prefix, got %q", label(path), n.Value))
			} else {
				bad()
			}
		default:
			return strings.ReplaceAll(n.Value, "_", ""), true
		}
		return "", false
	}
	switch v.Kind() {
	case reflect.String:
		if tag == "!!null" {
			v.SetString("")
			return
		}
		if tag != "!!str" {
			d.add(n, path, fmt.Sprintf("%s: want text, got %q (quote it if you mean text)", label(path), n.Value))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if tag != "!!bool" {
			bad()
			return
		}
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			bad()
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		digits, ok := integer()
		if !ok {
			return
		}
		i, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || v.OverflowInt(i) {
			d.add(n, path, fmt.Sprintf("%s: %s is too large for this field", label(path), n.Value))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		digits, ok := integer()
		if !ok {
			return
		}
		if strings.HasPrefix(digits, "-") && strings.Trim(digits, "-0") != "" {
			d.add(n, path, fmt.Sprintf("%s: want a non-negative integer, got %s", label(path), n.Value))
			return
		}
		u, err := strconv.ParseUint(strings.TrimLeft(digits, "+-"), 10, 64)
		if err != nil || v.OverflowUint(u) {
			d.add(n, path, fmt.Sprintf("%s: %s is too large for this field", label(path), n.Value))
			return
		}
		v.SetUint(u)
	case reflect.Float64:
		if quoted {
			d.add(n, path, fmt.Sprintf("%s: want a number, got the text %q (write it without quotes)", label(path), n.Value))
			return
		}
		if tag != "!!int" && tag != "!!float" {
			bad()
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.add(n, path, fmt.Sprintf("%s: want a finite number, got %q", label(path), n.Value))
			return
		}
		v.SetFloat(f)
	default:
		d.add(n, path, fmt.Sprintf("%s: unsupported field type %s", label(path), v.Type()))
	}
}

var (
	intRE = regexp.MustCompile(`^[-+]?[0-9_]+$`)
	// decimalRE is an integer as nobufs reads one: decimal, no leading
	// zeros, _ only between digits.
	decimalRE = regexp.MustCompile(`^[-+]?(0|[1-9](_?[0-9])*)$`)
	radixRE   = regexp.MustCompile(`^[-+]?0[xXoObB]`)
)

// onlyComments reports whether data holds nothing but blank lines and comments.
func onlyComments(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") && line != "---" && line != "..." {
			return false
		}
	}
	return true
}

func typeWord(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		return "a non-negative integer"
	case reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	}
	return k.String()
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func label(path string) string { return labelOr(path, "scenario") }

func labelOr(path, root string) string {
	if path == "" {
		return root
	}
	return path
}

// yamlName returns the key a struct field is written as.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func fieldByName(v reflect.Value, key string) (reflect.Value, bool) {
	if i := fieldIndex(v.Type(), key); i >= 0 {
		return v.Field(i), true
	}
	return reflect.Value{}, false
}

// fieldIndex returns the index of the struct field written as key in
// files, or -1. Only exported fields with a yaml name count: an empty key
// ("": x) must not reach an untagged or unexported field.
func fieldIndex(t reflect.Type, key string) int {
	for i := range t.NumField() {
		f := t.Field(i)
		if n := yamlName(f); f.IsExported() && n != "" && n != "-" && n == key {
			return i
		}
	}
	return -1
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if n := yamlName(t.Field(i)); n != "" && n != "-" {
			names = append(names, n)
		}
	}
	return names
}
