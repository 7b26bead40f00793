package cli

import (
	"time"

	"github.com/riseplatform/rise/core/duration"
)

// parseDuration is duration.Parse: 90m, 2h30m, 7d, 1w.
func parseDuration(s string) (time.Duration, error) { return duration.Parse(s) }
