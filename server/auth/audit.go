package auth

import (
	"net/http"

	"github.com/riseplatform/rise/server/audit"
)

// ClientIP is the source address of r by auth's rule (the one its rate
// limits and logs use); the audit log records the same address.
func (s *Service) ClientIP(r *http.Request) string { return s.clientIP(r) }

// audit records an authentication event through Options.Audit (a nil
// recorder records nothing). e never carries a password, token or code:
// the audit log stores only what is passed here.
func (s *Service) audit(r *http.Request, e audit.Event) {
	if e.SourceIP == "" {
		e.SourceIP = s.clientIP(r)
	}
	s.auditor.RecordRequest(r, e)
}

// auditLoginFailed records a refused login with its HTTP status. email is
// recorded only for a known user: people type passwords into the email
// field, and an unknown "email" may be one.
func (s *Service) auditLoginFailed(r *http.Request, status int, knownEmail string) {
	e := audit.Event{Action: audit.ActionLoginFailed, Actor: audit.KindAnonymous, Status: status}
	if knownEmail != "" {
		e.Details = map[string]any{"email": knownEmail}
	}
	s.audit(r, e)
}
