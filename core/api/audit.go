package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AuditEvent is one entry of the audit log: a state-changing API call or an
// authentication event.
type AuditEvent struct {
	ID        int64          `json:"id"`
	Time      time.Time      `json:"time"`
	Actor     string         `json:"actor"`      // "user:<name>", "sa:<id>" or "anonymous"
	ActorKind string         `json:"actor_kind"` // user, service_account, anonymous
	Action    string         `json:"action"`     // e.g. project.create, deployment.create, auth.login
	Project   string         `json:"project,omitempty"`
	Target    string         `json:"target,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
	SourceIP  string         `json:"source_ip,omitempty"`
	Status    int            `json:"status,omitempty"` // HTTP status of the call
	Outcome   string         `json:"outcome"`          // success, denied, failure
	Details   map[string]any `json:"details,omitempty"`
}

// AuditList is a page of GET /api/v1/audit, newest first. Query: ?project=,
// ?limit= (default 100), ?before= (RFC 3339 time), ?cursor=.
type AuditList struct {
	Events     []AuditEvent `json:"events"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// AuditQuery selects audit events for Client.Audit.
type AuditQuery struct {
	Project string    // "" for every project (admins only)
	Limit   int       // 0: the server's default
	Before  time.Time // zero: now
	Cursor  string    // a previous page's NextCursor
}

// Audit returns one page of the audit log (GET /audit).
func (c *Client) Audit(ctx context.Context, q AuditQuery) (*AuditList, error) {
	v := url.Values{}
	if q.Project != "" {
		v.Set("project", q.Project)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if !q.Before.IsZero() {
		v.Set("before", q.Before.UTC().Format(time.RFC3339Nano))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	path := "/audit"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var l AuditList
	if err := c.Do(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}
