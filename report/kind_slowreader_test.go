package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nobufs/nobufs/schema"
)

func TestTextSlowReader(t *testing.T) {
	first := 2.00387
	tests := []struct {
		name string
		r    *schema.SlowReaderReport
		want []string
	}{
		{"gave up", &schema.SlowReaderReport{Connections: 18, Reads: 40, BytesRead: 30, ClientUnread: 32767, ServerClosed: 10,
			FirstServerCloseAtSec: &first, MeanLifeSec: 2.7028,
			ServerQueued: &schema.QueueStats{Peak: 22429696, PeakAtSec: 1.0014, Mean: 14819620, Sockets: 8, Samples: 7}},
			[]string{
				"slow reader     18 connections, 40 reads, 30 bytes read; client receive queues peak 32767 bytes unread",
				"server gave up  10 connections, first at 2.00387s, after 2.7028s on average",
				"server queued   peak 22429696 bytes in 8 send queues at 1.0014s, mean 14819620 over 7 samples",
			}},
		{"held", &schema.SlowReaderReport{Connections: 2, Reads: 6},
			[]string{
				"slow reader     2 connections, 6 reads, 0 bytes read; client receive queues peak 0 bytes unread",
				"server gave up  never: every connection was still open at the end",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			s := &schema.Summary{Sections: schema.Sections{SlowReader: tt.r}}
			if err := Text(&b, s); err != nil {
				t.Fatal(err)
			}
			// Column widths depend on the other lines: compare words.
			got := "\n"
			for _, l := range strings.Split(b.String(), "\n") {
				got += strings.Join(strings.Fields(l), " ") + "\n"
			}
			for _, w := range tt.want {
				if !strings.Contains(got, "\n"+strings.Join(strings.Fields(w), " ")+"\n") {
					t.Errorf("text has no line %q:\n%s", w, b.String())
				}
			}
		})
	}
}
