package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// oidcUser finds or creates the user of an OIDC identity (issuer, subject)
// and returns it with its admin flag set for this login.
//
// An account is bound to the (issuer, subject) that first logged in to it
// (user_identities); afterwards that identity finds it, whatever email it
// shows. A different identity with the same email does not take over a
// bound account: it is refused. An existing account without a binding
// (created by a local login, or before bindings existed) is bound on its
// first OIDC login with a verified email. admin holds only while the
// token's email is the account's email.
func (s *Service) oidcUser(ctx context.Context, issuer, subject, email, handle string, admin bool) (*userInfo, error) {
	if subject == "" {
		return nil, fmt.Errorf("%w: id_token has no subject", ErrInvalidCredentials)
	}
	scan := func(row pgx.Row) (*userInfo, error) {
		var u userInfo
		err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Admin)
		return &u, err
	}
	u, err := scan(s.db.QueryRow(ctx, `UPDATE users SET admin = ($2 AND email = lower($3))
		WHERE id = (SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $4)
		RETURNING id::text, email, name, admin`, issuer, admin, email, subject))
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("auth: look up OIDC identity: %w", err)
	}
	var existing string
	var bound bool
	err = s.db.QueryRow(ctx, `SELECT u.id::text, EXISTS (SELECT 1 FROM user_identities i WHERE i.user_id = u.id)
		FROM users u WHERE u.email = lower($1)`, email).Scan(&existing, &bound)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("auth: look up user by email: %w", err)
	case bound:
		return nil, fmt.Errorf("%w: email %s belongs to an account bound to another identity (this one: issuer %s, subject %s)",
			ErrInvalidCredentials, email, issuer, subject)
	}
	if u, err = s.users.upsertUser(ctx, email, handle, admin); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	// Bind; a concurrent login of another identity with the same email
	// may have bound the account first, so check who holds it afterwards.
	if _, err := s.db.Exec(ctx, `INSERT INTO user_identities (issuer, subject, user_id) VALUES ($1, $2, $3)
		ON CONFLICT (issuer, subject) DO NOTHING`, issuer, subject, u.ID); err != nil {
		return nil, fmt.Errorf("auth: bind OIDC identity: %w", err)
	}
	var holder string
	var n int
	if err := s.db.QueryRow(ctx, `SELECT (SELECT user_id::text FROM user_identities WHERE issuer = $1 AND subject = $2),
		(SELECT count(*) FROM user_identities WHERE user_id = $3)`, issuer, subject, u.ID).Scan(&holder, &n); err != nil {
		return nil, fmt.Errorf("auth: bind OIDC identity: %w", err)
	}
	if holder != u.ID || n != 1 {
		if holder == u.ID {
			_, _ = s.db.Exec(ctx, `DELETE FROM user_identities WHERE issuer = $1 AND subject = $2`, issuer, subject)
		}
		return nil, fmt.Errorf("%w: email %s was bound to another identity concurrently", ErrInvalidCredentials, email)
	}
	s.log.Info("bound account to OIDC identity", "user", u.Name, "issuer", issuer)
	return u, nil
}
