// Package audit is rise's audit log: every state-changing API call and every
// authentication event, stored in PostgreSQL (table audit_events) with actor,
// action, target, time, request id and source IP.
//
//   - Middleware (mounted on /api/v1 by the server) records each POST, PUT,
//     PATCH and DELETE after its handler ran, named after the route
//     (project.create, deployment.stop, ...), and each use of a service
//     account's credentials.
//   - RecordRequest is the hook the auth package calls for auth.login,
//     auth.login_failed and auth.token_rejected (auth.token_revoked is
//     reserved for token revocation, which auth does not have yet).
//   - Routes serves GET /api/v1/audit: admins see everything, a project's
//     owners see their project's events.
//   - Run is a controller that deletes events older than the retention.
//
// Request bodies are never read: details hold route variables and facts the
// auth package chooses, so passwords and tokens cannot reach the log.
// A *Recorder may be nil: every method is then a no-op.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// Authentication actions, recorded through RecordRequest by server/auth.
const (
	ActionLogin          = "auth.login"           // a user logged in (any method); Actor is the user
	ActionLoginFailed    = "auth.login_failed"    // refused login; Actor "anonymous"
	ActionTokenRejected  = "auth.token_rejected"  // a presented bearer token was refused (expired, bad signature, unknown issuer)
	ActionTokenRevoked   = "auth.token_revoked"   // a token or session was revoked
	ActionServiceAccount = "auth.service_account" // a service account's credentials were used for a read
	ActionTeamsSynced    = "auth.teams_synced"    // a login changed the user's teams to follow the identity provider's groups
)

// Outcomes. Derived from Status when an Event leaves Outcome empty.
const (
	OutcomeSuccess = "success" // 1xx-3xx
	OutcomeDenied  = "denied"  // 401, 403, 404 (someone else's project looks missing), 429
	OutcomeFailure = "failure" // any other 4xx or 5xx
)

// Actor kinds.
const (
	KindUser           = "user"
	KindServiceAccount = "service_account"
	KindAnonymous      = "anonymous"
)

// Limits keep one event small.
const (
	maxField   = 256  // target, actor, action, request id
	maxDetails = 2048 // bytes of details JSON
)

// DefaultRetention is how long events are kept when server.hcl sets no
// audit { retention }.
const DefaultRetention = 90 * 24 * time.Hour

// Event is one audit record. Only Action is required.
type Event struct {
	Time      time.Time // zero: now
	Actor     string    // "user:<name>", "sa:<id>" or "anonymous" (empty: anonymous)
	Action    string    // e.g. project.create, deployment.create, auth.login
	Project   string    // project name, when the event concerns one
	Target    string    // what was acted on, e.g. "/projects/my-app/deployments/20261123-142501"
	RequestID string
	SourceIP  string
	Status    int    // HTTP status of the call; 0 when there is none
	Outcome   string // success, denied, failure; empty: from Status
	// Details are small facts (route variables, the login method). Never
	// put request bodies, passwords, tokens or codes here; keys that look
	// like secrets are dropped anyway.
	Details map[string]any
}

// Options configure a Recorder.
type Options struct {
	Log hclog.Logger
	// ClientIP is the source address of a request. Default: the peer
	// address (RemoteAddr). The server wires server/auth's rule, which
	// decides whether proxies are trusted.
	ClientIP func(*http.Request) string
	// Retention: events older than this are deleted by Run. 0 means
	// DefaultRetention; negative keeps events forever.
	Retention time.Duration
	// PruneEvery is how often Run prunes (default 1h).
	PruneEvery time.Duration
}

// Recorder writes and serves the audit log.
type Recorder struct {
	st       *store.Store
	log      hclog.Logger
	clientIP func(*http.Request) string
	o        Options
	saSeen   *seen
}

// New returns a Recorder writing to st.
func New(st *store.Store, o Options) *Recorder {
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	if o.ClientIP == nil {
		o.ClientIP = PeerIP
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	return &Recorder{st: st, log: o.Log.Named("audit"), clientIP: o.ClientIP, o: o, saSeen: newSeen(5 * time.Minute)}
}

// PeerIP is the host part of r.RemoteAddr.
func PeerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Record stores e. It returns an error for an event without action or when
// the insert fails; callers on a request path log it (RecordRequest does)
// and never fail the request because of it.
func (rc *Recorder) Record(ctx context.Context, e Event) error {
	if rc == nil {
		return nil
	}
	if e.Action == "" {
		return errors.New("audit: event without action")
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Actor == "" {
		e.Actor = KindAnonymous
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeOf(e.Status)
	}
	details, err := encodeDetails(e.Details)
	if err != nil {
		return fmt.Errorf("audit: details of %s: %w", e.Action, err)
	}
	var project any
	if e.Project != "" {
		project = clip(e.Project)
	}
	_, err = rc.st.Pool().Exec(ctx, `INSERT INTO audit_events
		(time, actor, actor_kind, action, project_id, project, target, request_id, source_ip, status, outcome, details)
		VALUES ($1, $2, $3, $4, (SELECT id FROM projects WHERE name = $5), $5, $6, $7, $8, $9, $10, $11)`,
		e.Time, clip(e.Actor), ActorKind(e.Actor), clip(e.Action), project, clip(e.Target), clip(e.RequestID),
		clip(e.SourceIP), e.Status, e.Outcome, details)
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// RecordRequest records e as happening in request r: it fills in the
// request id, source IP, actor (from the request's identity) and target (the
// path) where e leaves them empty. Failures are logged, never returned: the
// audit log must not fail a request. This is the hook server/auth calls.
func (rc *Recorder) RecordRequest(r *http.Request, e Event) {
	if rc == nil {
		return
	}
	if e.RequestID == "" {
		if id := httpx.RequestID(r); id != "-" {
			e.RequestID = id
		}
	}
	if e.SourceIP == "" {
		e.SourceIP = rc.clientIP(r)
	}
	if e.Actor == "" {
		e.Actor = identity.From(r.Context()).Subject()
	}
	if e.Target == "" {
		e.Target = strings.TrimPrefix(r.URL.Path, APIPrefix)
	}
	// The client may have gone; the event is still worth keeping.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := rc.Record(ctx, e); err != nil {
		rc.log.Error("could not record audit event", "action", e.Action, "request_id", e.RequestID, "error", err)
	}
}

// OutcomeOf names the outcome of an HTTP status.
func OutcomeOf(status int) string {
	switch {
	case status < 400:
		return OutcomeSuccess
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound,
		status == http.StatusTooManyRequests:
		return OutcomeDenied
	}
	return OutcomeFailure
}

// ActorKind is the kind of an actor string.
func ActorKind(actor string) string {
	switch {
	case strings.HasPrefix(actor, "user:"):
		return KindUser
	case strings.HasPrefix(actor, "sa:"):
		return KindServiceAccount
	}
	return KindAnonymous
}

// secretish are substrings of detail keys that are dropped: a second line of
// defence behind "never put secrets in details".
var secretish = []string{"password", "passwd", "secret", "token", "authorization", "cookie", "credential",
	"code", "verifier", "key", "session", "ticket"}

func encodeDetails(d map[string]any) ([]byte, error) {
	clean := make(map[string]any, len(d))
	for k, v := range d {
		lk := strings.ToLower(k)
		drop := false
		for _, s := range secretish {
			if strings.Contains(lk, s) {
				drop = true
				break
			}
		}
		if drop {
			continue
		}
		if str, ok := v.(string); ok {
			v = clip(str)
		}
		clean[clip(k)] = v
	}
	b, err := json.Marshal(clean)
	if err != nil {
		return nil, err
	}
	if len(b) > maxDetails {
		return []byte(`{"truncated":true}`), nil
	}
	return b, nil
}

// clip bounds a text field and makes it storable: PostgreSQL refuses NUL
// bytes and invalid UTF-8, which a request path may carry.
func clip(s string) string {
	if len(s) > maxField {
		s = s[:maxField]
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
}
