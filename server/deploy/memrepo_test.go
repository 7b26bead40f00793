package deploy

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// memRepo is an in-memory Repository with the PostgreSQL one's semantics
// (optimistic versions, validated transitions, one active deployment per
// group through Promote), for reconcile unit tests.
type memRepo struct {
	mu   sync.Mutex
	rows map[string]*row // uuid → stored row
	now  func() time.Time
	down error // when set, every call fails with it (a database outage)
}

var _ Repository = (*memRepo)(nil)

func newMemRepo(now func() time.Time) *memRepo {
	return &memRepo{rows: map[string]*row{}, now: now}
}

func (m *memRepo) put(d *row) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *d
	m.rows[d.UUID] = &c
}

// stored returns a copy of the stored row.
func (m *memRepo) stored(uuid string) *row {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *m.rows[uuid]
	return &c
}

func (m *memRepo) Get(_ context.Context, uuid string) (*row, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return nil, m.down
	}
	d, ok := m.rows[uuid]
	if !ok {
		return nil, errNoDeployment
	}
	c := *d
	return &c, nil
}

func (m *memRepo) GetByID(_ context.Context, projectID, id string) (*row, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return nil, m.down
	}
	for _, d := range m.rows {
		if d.ProjectID == projectID && d.ID == id {
			c := *d
			return &c, nil
		}
	}
	return nil, errNoDeployment
}

func (m *memRepo) Active(_ context.Context, projectID, env, group string) (*row, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return nil, m.down
	}
	return m.active(projectID, env, group), nil
}

func (m *memRepo) active(projectID, env, group string) *row {
	for _, d := range m.rows {
		if d.ProjectID == projectID && d.Environment == env && d.Group == group && d.Active {
			c := *d
			return &c
		}
	}
	return nil
}

func (m *memRepo) Save(_ context.Context, d *row, c change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return m.down
	}
	return m.apply(d, c)
}

// apply is the in-memory UPDATE ... WHERE version = $2 (m.mu held).
func (m *memRepo) apply(d *row, c change) error {
	if err := c.check(d); err != nil {
		return err
	}
	cur, ok := m.rows[d.UUID]
	if !ok || cur.Version != d.Version {
		return errStale
	}
	now := m.now()
	if c.State != "" && c.State != cur.State {
		cur.State, cur.StateChangedAt = c.State, now
	}
	if c.Message != nil {
		cur.Message = *c.Message
	}
	if c.Active != nil {
		cur.Active = *c.Active
	}
	if c.StopTarget != "" {
		cur.StopTarget = c.StopTarget
	}
	if c.Runtime != nil {
		cur.RuntimeState, cur.RuntimeStateVersion = c.Runtime.State, int32(c.Runtime.StateVersion)
		cur.Upstreams, cur.URLs = c.Runtime.Upstreams, c.Runtime.URLs
	}
	if c.Image != "" {
		cur.Image = c.Image
	}
	if c.Digest != "" {
		cur.ImageDigest = c.Digest
	}
	if c.Healthy {
		if cur.HealthyAt == nil {
			cur.HealthyAt = &now
		}
		if cur.ExpireSeconds > 0 && cur.ExpiresAt == nil {
			at := now.Add(time.Duration(cur.ExpireSeconds) * time.Second)
			cur.ExpiresAt = &at
		}
	}
	if c.ExpiresAt != nil {
		cur.ExpiresAt = c.ExpiresAt
	}
	if cur.Active && m.activeOther(cur) {
		return errOneActive
	}
	cur.Version++
	cur.UpdatedAt = now
	*d = *cur
	return nil
}

// errOneActive is the unique index "one active deployment per group".
var errOneActive = errors.New("two active deployments in one group")

func (m *memRepo) activeOther(d *row) bool {
	for _, o := range m.rows {
		if o.UUID != d.UUID && o.ProjectID == d.ProjectID && o.Environment == d.Environment && o.Group == d.Group && o.Active {
			return true
		}
	}
	return false
}

func (m *memRepo) SaveHandle(_ context.Context, d *row, h *sdk.Deployment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return m.down
	}
	cur, ok := m.rows[d.UUID]
	if !ok {
		return errNoDeployment
	}
	cur.RuntimeState, cur.RuntimeStateVersion, cur.Upstreams, cur.URLs = h.State, int32(h.StateVersion), h.Upstreams, h.URLs
	cur.Version++
	d.RuntimeState, d.RuntimeStateVersion, d.Upstreams, d.URLs, d.Version = cur.RuntimeState, cur.RuntimeStateVersion, cur.Upstreams, cur.URLs, cur.Version
	return nil
}

func (m *memRepo) Promote(_ context.Context, d *row, msg string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down != nil {
		return m.down
	}
	// All or nothing, like the transaction: apply to copies, then commit.
	saved := map[string]row{}
	for k, v := range m.rows {
		saved[k] = *v
	}
	for _, s := range promotion(d, m.active(d.ProjectID, d.Environment, d.Group), msg) {
		if err := m.apply(s.d, s.c); err != nil {
			for k, v := range saved {
				*m.rows[k] = v
			}
			return err
		}
	}
	return nil
}
