package workers

import (
	"cmp"
	"slices"

	"github.com/nobufs/nobufs/schema"
)

func sortDeltas(ds []schema.ErrorDelta) {
	slices.SortFunc(ds, func(a, b schema.ErrorDelta) int {
		return cmp.Or(cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Code, b.Code))
	})
}
