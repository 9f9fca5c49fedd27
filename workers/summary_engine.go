package workers

import (
	"cmp"
	"slices"

	"github.com/nobufs/nobufs/schema"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/nobufs/nobufs/workers/errclass"
)

func latencyOf(h *hdrhistogram.Histogram) schema.Latency {
	if h.TotalCount() == 0 {
		return schema.Latency{}
	}
	return schema.Latency{
		Count: uint64(h.TotalCount()),
		Min:   h.Min(),
		Mean:  h.Mean(),
		P50:   h.ValueAtQuantile(50),
		P90:   h.ValueAtQuantile(90),
		P99:   h.ValueAtQuantile(99),
		P999:  h.ValueAtQuantile(99.9),
		Max:   h.Max(),
	}
}

// errorCounts turns an error table into sorted ErrorCounts and ClassFirsts.
func errorCounts(m map[errclass.ErrorKey]*errStat) ([]schema.ErrorCount, []schema.ClassFirst) {
	ecs := make([]schema.ErrorCount, 0, len(m))
	byClass := map[errclass.Class]*schema.ClassFirst{}
	for k, st := range m {
		ecs = append(ecs, schema.ErrorCount{Phase: k.Phase, Class: k.Class, Code: k.Code, Name: errclass.WSAName(k.Code),
			Count: st.count, FirstAt: st.firstAt.Seconds(), FirstOp: st.firstOp})
		c := byClass[k.Class]
		if c == nil {
			c = &schema.ClassFirst{Class: k.Class, FirstAt: st.firstAt.Seconds(), FirstOp: st.firstOp, Phase: k.Phase, Code: k.Code}
			byClass[k.Class] = c
		} else if st.firstAt.Seconds() < c.FirstAt {
			c.FirstAt, c.FirstOp, c.Phase, c.Code = st.firstAt.Seconds(), st.firstOp, k.Phase, k.Code
		}
		c.Count += st.count
	}
	slices.SortFunc(ecs, func(a, b schema.ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Code, b.Code))
	})
	cfs := make([]schema.ClassFirst, 0, len(byClass))
	for _, c := range byClass {
		cfs = append(cfs, *c)
	}
	slices.SortFunc(cfs, func(a, b schema.ClassFirst) int {
		return cmp.Or(cmp.Compare(a.FirstAt, b.FirstAt), cmp.Compare(a.Class, b.Class))
	})
	return ecs, cfs
}
