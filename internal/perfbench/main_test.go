package main

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestParseKV reads connref's summary lines as printed.
func TestParseKV(t *testing.T) {
	churn := "mode=churn threads=2 inflight=64 naddr=1 linger0=1 secs=2.01 conns=121404 conns_per_s=60437 accepts_per_s=60421 cpu_us_per_conn=19.05"
	hold := "mode=hold split=1 n=19900 accepted=19900 inflight=256 open_secs=0.903 conns_per_s=22028 rss_kb_client=1724->1996 rss_kb_server=1156->1432 user_rss_bytes_per_conn=28.2"
	for _, tc := range []struct {
		line, key string
		want      float64
	}{
		{churn, "conns_per_s", 60437},
		{churn, "cpu_us_per_conn", 19.05},
		{hold, "open_secs", 0.903},
		{hold, "rss_client_delta_kb", 272},
		{hold, "rss_server_delta_kb", 276},
		{hold, "user_rss_bytes_per_conn", 28.2},
	} {
		if got := parseKV(tc.line)[tc.key]; got != tc.want {
			t.Errorf("%s = %v, want %v", tc.key, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
