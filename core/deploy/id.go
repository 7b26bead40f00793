package deploy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// IDLayout is the time layout of deployment ids (UTC): 20261123-142501.
const IDLayout = "20060102-150405"

var idRE = regexp.MustCompile(`^[0-9]{8}-[0-9]{6}(-[0-9]{1,4})?$`)

// ValidID reports whether s has the shape of a deployment id.
func ValidID(s string) bool { return idRE.MatchString(s) }

// NewID returns the deployment id for t that is not taken: the timestamp, or
// the timestamp with -2, -3, ... when exists reports it taken. exists is
// typically a lookup in the project's deployments (inside the transaction that
// inserts, with the unique constraint as the final arbiter).
func NewID(t time.Time, exists func(id string) (bool, error)) (string, error) {
	base := t.UTC().Format(IDLayout)
	for n := 1; n < 10000; n++ {
		id := base
		if n > 1 {
			id = base + "-" + strconv.Itoa(n)
		}
		taken, err := exists(id)
		if err != nil {
			return "", fmt.Errorf("check deployment id %s: %w", id, err)
		}
		if !taken {
			return id, nil
		}
	}
	return "", fmt.Errorf("no free deployment id for %s", base)
}

// NextID returns the successor of id used after a collision: base → base-2 →
// base-3. It lets an insert retry on a unique violation without a lookup.
func NextID(id string) string {
	if i := strings.LastIndexByte(id, '-'); i > 8 {
		n, err := strconv.Atoi(id[i+1:])
		if err == nil {
			return id[:i+1] + strconv.Itoa(n+1)
		}
	}
	return id + "-2"
}

// IDTime returns the time encoded in a deployment id.
func IDTime(id string) (time.Time, error) {
	if !ValidID(id) {
		return time.Time{}, fmt.Errorf("invalid deployment id %q (want YYYYMMDD-HHMMSS)", id)
	}
	return time.Parse(IDLayout, id[:15])
}
