package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
)

// Revocation. Every rise token, browser session, ticket and app session
// carries a jti; app sessions also carry the jti of the browser session
// they came from (sid). On every request the identity lookup asks the
// database, in one query, whether one of those jtis is in revoked_tokens or
// the token was issued before the user's cutoff in token_cutoffs. The
// tables are shared by every replica, so a revocation applies everywhere on
// the next request; the user row itself (admin flag) and team membership
// are read from the database per request too, so demoting an admin or
// removing a team member needs no revocation at all.

type claimsKey struct{}

// withClaims keeps the verified rise token claims of a request (for logout).
func withClaims(ctx context.Context, c *tokenClaims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

func claimsFrom(ctx context.Context) *tokenClaims {
	c, _ := ctx.Value(claimsKey{}).(*tokenClaims)
	return c
}

// userAndRevocation reads user userID and whether a token of theirs
// issued at iat with ids jtis (its own jti, and the browser session it came
// from) has been revoked — one query per request.
func (s *Service) userAndRevocation(ctx context.Context, userID string, iat time.Time, jtis []string) (*userInfo, bool, error) {
	if !isUUID(userID) {
		return nil, false, errNoUser
	}
	var u userInfo
	var listed bool
	var cutoff *time.Time
	err := s.db.QueryRow(ctx, `SELECT u.id::text, u.email, u.name, u.admin, u.idp_groups,
		EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ANY($2)),
		(SELECT not_before FROM token_cutoffs WHERE user_id = u.id)
		FROM users u WHERE u.id = $1::uuid`, userID, jtis).Scan(&u.ID, &u.Email, &u.Name, &u.Admin, &u.Groups, &listed, &cutoff)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, errNoUser
	}
	if err != nil {
		return nil, false, fmt.Errorf("auth: look up token user: %w", err)
	}
	// iat has whole seconds: a token from the cutoff's own second counts as
	// revoked (the user logs in again a moment later).
	return &u, listed || (cutoff != nil && !iat.After(cutoff.Truncate(time.Second))), nil
}

// isUUID reports whether s looks like a UUID (a token's sub must be one).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'):
			return false
		}
	}
	return true
}

// revokeToken revokes one token (or browser session) by jti until exp.
func (s *Service) revokeToken(ctx context.Context, jti, userID string, exp time.Time) error {
	// Housekeeping: an expired token is refused by its signature check anyway.
	if _, err := s.db.Exec(ctx, `DELETE FROM revoked_tokens WHERE expires_at < $1`, s.now().Add(-time.Minute)); err != nil {
		return fmt.Errorf("auth: expire revoked tokens: %w", err)
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1, NULLIF($2, '')::uuid, $3)
		ON CONFLICT (jti) DO NOTHING`, jti, userID, exp.Add(time.Minute)); err != nil {
		return fmt.Errorf("auth: revoke token: %w", err)
	}
	return nil
}

// revokeAll revokes every token, browser session and app session of
// userID issued until now.
func (s *Service) revokeAll(ctx context.Context, userID string) error {
	if _, err := s.db.Exec(ctx, `INSERT INTO token_cutoffs (user_id, not_before) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET not_before = GREATEST(token_cutoffs.not_before, EXCLUDED.not_before)`,
		userID, s.now()); err != nil {
		return fmt.Errorf("auth: revoke tokens of user %s: %w", userID, err)
	}
	return nil
}

// handleAPILogout is POST /api/v1/auth/logout {"all": bool}: revokes the
// caller's own token, or with all every token of the caller.
func (s *Service) handleAPILogout(w http.ResponseWriter, r *http.Request) {
	id := identity.From(r.Context())
	c := claimsFrom(r.Context())
	if id.IsServiceAccount() || c == nil {
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "only rise tokens can be logged out",
			"Service-account tokens are minted by your CI system and expire there."))
		return
	}
	var req api.LogoutRequest
	if r.ContentLength != 0 {
		if err := httpx.Decode(w, r, &req); err != nil {
			httpx.Err(w, r, err)
			return
		}
	}
	var err error
	if req.All {
		err = s.revokeAll(r.Context(), id.UserID)
	} else {
		err = s.revokeToken(r.Context(), c.ID, id.UserID, c.Expiry.Time())
	}
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	s.log.Info("token revoked", "user", id.Name, "all", req.All, "by", id.Subject(), "remote", s.clientIP(r))
	s.audit(r, audit.Event{Action: audit.ActionTokenRevoked, Actor: id.Subject(), Status: http.StatusNoContent, Details: map[string]any{"user": id.Name, "all": req.All}})
	w.WriteHeader(http.StatusNoContent)
}

// handleRevokeUser is DELETE /api/v1/users/{user}/tokens: revokes every
// token and session of a user (handle, email or id). Admins may revoke
// anyone's; a user their own. Anyone else gets the same 404 as for an
// unknown user.
func (s *Service) handleRevokeUser(w http.ResponseWriter, r *http.Request) {
	id := identity.From(r.Context())
	ref := mux.Vars(r)["user"]
	notFound := httpx.NewError(http.StatusNotFound, fmt.Sprintf("user '%s' not found", ref))
	if id.IsServiceAccount() {
		httpx.Err(w, r, httpx.NewError(http.StatusForbidden, "service accounts cannot revoke tokens"))
		return
	}
	u, err := s.users.userByRef(r.Context(), ref)
	switch {
	case errors.Is(err, errNoUser):
		httpx.Err(w, r, notFound)
		return
	case err != nil:
		httpx.Err(w, r, err)
		return
	case !id.Admin && u.ID != id.UserID:
		s.log.Warn("non-admin tried to revoke another user's tokens", "caller", id.Subject(), "user", ref)
		httpx.Err(w, r, notFound)
		return
	}
	if err := s.revokeAll(r.Context(), u.ID); err != nil {
		httpx.Err(w, r, err)
		return
	}
	s.log.Info("token revoked", "user", u.Name, "all", true, "by", id.Subject(), "remote", s.clientIP(r))
	s.audit(r, audit.Event{Action: audit.ActionTokenRevoked, Actor: id.Subject(), Status: http.StatusNoContent, Details: map[string]any{"user": u.Name, "all": true}})
	w.WriteHeader(http.StatusNoContent)
}
