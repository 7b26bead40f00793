package config

import (
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"":       DefaultAuditRetention,
		"90d":    90 * 24 * time.Hour,
		"720h":   720 * time.Hour,
		"0":      -1,
		"0d":     -1,
		"1h":     time.Hour,
		"30m":    0, // errors below
		"-5d":    0,
		"d":      0,
		"1.5d":   0,
		"soon":   0,
		"99999d": 0,
	} {
		got, err := ParseRetention(in)
		if want == 0 {
			if err == nil {
				t.Errorf("ParseRetention(%q) = %v, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	var s *Server
	if s.AuditRetention() != DefaultAuditRetention {
		t.Error("nil server: not the default retention")
	}
}
