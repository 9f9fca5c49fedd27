package workers

import (
	"cmp"
	"slices"
)

func sortDeltas(ds []ErrorDelta) {
	slices.SortFunc(ds, func(a, b ErrorDelta) int {
		return cmp.Or(cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Code, b.Code))
	})
}
