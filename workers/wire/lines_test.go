package wire

import (
	"fmt"
	"slices"
	"testing"
)

func TestLinesBounded(t *testing.T) {
	l := NewLines(2)
	for _, s := range []string{"+PONG", "+PONG", "-ERR max", "HTTP/1.1 400", "+PONG", "HTTP/1.1 400"} {
		l.Add(s)
	}
	got := l.Rows()
	want := []LineCount{{"+PONG", 3}, {"-ERR max", 1}}
	if !slices.Equal(got, want) {
		t.Errorf("Rows() = %v, want %v", got, want)
	}
	if got, want := l.Other(), uint64(2); got != want {
		t.Errorf("Other() = %d, want %d", got, want)
	}
	if got, want := l.Total(), uint64(6); got != want {
		t.Errorf("Total() = %d, want %d", got, want)
	}
}

// TestLinesMergeExact: two workers' tables that fit merge into exactly the
// table one worker would have kept.
func TestLinesMergeExact(t *testing.T) {
	a, b, one := NewLines(4), NewLines(4), NewLines(4)
	streamA := []string{"x", "y", "x", "z"}
	streamB := []string{"y", "w", "w", "x"}
	for _, s := range streamA {
		a.Add(s)
		one.Add(s)
	}
	for _, s := range streamB {
		b.Add(s)
		one.Add(s)
	}
	a.Merge(b)
	if got, want := a.Rows(), one.Rows(); !slices.Equal(got, want) {
		t.Errorf("merged Rows() = %v, want %v", got, want)
	}
	if a.Other() != 0 || a.Total() != 8 {
		t.Errorf("merged Other %d Total %d, want 0, 8", a.Other(), a.Total())
	}
}

// TestLinesMergeOverflow: beyond Max, the total stays exact, the biggest
// lines are kept, and the merge is commutative.
func TestLinesMergeOverflow(t *testing.T) {
	mk := func(counts map[string]uint64, other uint64) *Lines {
		l := NewLines(3)
		for s, n := range counts {
			l.AddN(s, n)
		}
		l.other = other
		return l
	}
	a := mk(map[string]uint64{"a": 5, "b": 1, "c": 1}, 2)
	b := mk(map[string]uint64{"d": 4, "b": 1, "e": 3}, 1)
	ab := mk(map[string]uint64{"a": 5, "b": 1, "c": 1}, 2)
	ab.Merge(b)
	ba := mk(map[string]uint64{"d": 4, "b": 1, "e": 3}, 1)
	ba.Merge(a)
	want := []LineCount{{"a", 5}, {"d", 4}, {"e", 3}}
	if got := ab.Rows(); !slices.Equal(got, want) {
		t.Errorf("a.Merge(b) Rows() = %v, want %v", got, want)
	}
	if got := ba.Rows(); !slices.Equal(got, want) {
		t.Errorf("b.Merge(a) Rows() = %v, want %v", got, want)
	}
	if got, want := ab.Total(), uint64(5+1+1+2+4+1+3+1); got != want || ba.Total() != want {
		t.Errorf("Total() = %d and %d, want %d", got, ba.Total(), want)
	}
	if got, want := ab.Other(), uint64(2+1+2+1); got != want {
		t.Errorf("Other() = %d, want %d (b:2 + c:1 + both others)", got, want)
	}
}

func BenchmarkLinesAdd(b *testing.B) {
	l := NewLines(16)
	lines := make([]string, 64)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %d", i%20)
	}
	for i := 0; b.Loop(); i++ {
		l.Add(lines[i%len(lines)])
	}
}
