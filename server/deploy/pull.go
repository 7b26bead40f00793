package deploy

import (
	"sync"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// pullCredentials remembers when each running deployment's pull credentials
// should be renewed: half-way through their lifetime. It lives in memory: a
// controller that starts (or takes over the lease) renews every running
// deployment's credentials once, then on schedule.
type pullCredentials struct{ m sync.Map } // deployment uuid → time.Time

var never = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// issued records credentials just handed to the runtime for deployment id.
func (p *pullCredentials) issued(id string, c *sdk.Credentials) {
	if c == nil || c.ExpiresAt.IsZero() {
		p.m.Store(id, never) // credentials that do not expire: nothing to renew
		return
	}
	now := time.Now()
	p.m.Store(id, now.Add(c.ExpiresAt.Sub(now)/2))
}

// renewAt is when deployment id's credentials should be renewed; ok is
// false when this controller has not handed out any yet.
func (p *pullCredentials) renewAt(id string) (time.Time, bool) {
	v, ok := p.m.Load(id)
	if !ok {
		return time.Time{}, false
	}
	return v.(time.Time), true
}

// forget drops a deployment that stopped running.
func (p *pullCredentials) forget(id string) { p.m.Delete(id) }
