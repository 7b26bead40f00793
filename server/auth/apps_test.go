package auth

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"
)

func TestAppTarget(t *testing.T) {
	e := newEnv(t, nil, func(o *Options) { o.AppsDomain = "localhost" })
	exp := time.Now().Add(time.Hour)
	for rd, ticket := range map[string]bool{
		"http://hello.localhost:3000/a/b?c=d": true,
		"http://hello.localhost/":             true,
		e.s.issuer + "/":                      false, // rise itself
		"http://localhost:3000/":              false, // the apps domain, not an app
		"http://a.b.localhost/":               false, // not one label deep
	} {
		got, err := e.s.appTarget(rd, "user-1", exp, "sid-1")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(got)
		if !ticket {
			if got != rd {
				t.Errorf("appTarget(%s) = %s, want rd itself", rd, got)
			}
			continue
		}
		want, _ := url.Parse(rd)
		if u.Scheme != want.Scheme || u.Host != want.Host || u.Path != "/.rise/callback" || u.Query().Get("ticket") == "" {
			t.Errorf("appTarget(%s) = %s", rd, got)
		}
		if rd == "http://hello.localhost:3000/a/b?c=d" && u.Query().Get("rd") != "/a/b?c=d" {
			t.Errorf("rd path %q", u.Query().Get("rd"))
		}
	}
}

// TestTicketTokens: tickets and app sessions are not interchangeable, not
// API tokens, end with the rise session, and are refused for deleted users;
// redeemed ticket ids are cleaned up once expired.
func TestTicketTokens(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, func(o *Options) { o.AppsDomain = "localhost" })
	apiToken := e.mkProject("hello", "alice@example.com")
	claims, err := e.s.verifyRiseToken(apiToken)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("%s: %v, want ErrInvalidCredentials", name, err)
		}
	}

	sessionEnd := time.Now().Add(10 * time.Minute)
	ticket, err := e.s.issueTicket(claims.Subject, "hello.localhost:3000", sessionEnd, claims.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.s.AppSessionIdentity(ctx, ticket, "hello.localhost")
	refused("ticket as app session", err)
	_, _, err = e.s.RedeemTicket(ctx, apiToken, "hello.localhost")
	refused("API token as ticket", err)

	tok, exp, err := e.s.RedeemTicket(ctx, ticket, "HELLO.localhost:8080")
	if err != nil {
		t.Fatalf("RedeemTicket: %v", err)
	}
	if !exp.Equal(sessionEnd.Truncate(time.Second)) {
		t.Errorf("app session ends %s, want the rise session's end %s", exp, sessionEnd)
	}
	if id, err := e.s.AppSessionIdentity(ctx, tok, "hello.localhost"); err != nil || id.Email != "alice@example.com" {
		t.Errorf("AppSessionIdentity: %+v %v", id, err)
	}
	_, err = e.s.AppSessionIdentity(ctx, tok, "other.localhost")
	refused("app session on another host", err)
	if code, _ := e.whoami(tok); code != 401 {
		t.Errorf("app session as API token: %d", code)
	}
	_, _, err = e.s.RedeemTicket(ctx, ticket, "hello.localhost")
	refused("replay", err)

	// After expiry the row goes at the next redemption.
	e.setNow(time.Now().Add(5 * time.Minute))
	t2, _ := e.s.issueTicket(claims.Subject, "hello.localhost", time.Now().Add(time.Hour), claims.ID)
	if _, _, err := e.s.RedeemTicket(ctx, t2, "hello.localhost"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM app_tickets`).Scan(&n); err != nil || n != 1 {
		t.Errorf("app_tickets rows after expiry: %d %v, want 1", n, err)
	}
	e.setNow(time.Time{})

	// A ticket whose rise session already ended is refused.
	t3, _ := e.s.issueTicket(claims.Subject, "hello.localhost", time.Now().Add(-time.Second), claims.ID)
	_, _, err = e.s.RedeemTicket(ctx, t3, "hello.localhost")
	refused("ticket from an ended session", err)

	// A long rise session still gives a short app session (renewed through
	// the login, which resumes the rise session without asking).
	tLong, _ := e.s.issueTicket(claims.Subject, "hello.localhost", time.Now().Add(10*time.Hour), claims.ID)
	if _, exp, err := e.s.RedeemTicket(ctx, tLong, "hello.localhost"); err != nil || exp.After(time.Now().Add(AppSessionTTL+time.Second)) {
		t.Errorf("app session of a long rise session ends %s (%v), want within %s", exp, err, AppSessionTTL)
	}

	// A ticket without the session it came from is refused.
	t4, _ := e.s.issueTicket(claims.Subject, "hello.localhost", time.Now().Add(time.Hour), "")
	_, _, err = e.s.RedeemTicket(ctx, t4, "hello.localhost")
	refused("ticket without a session id", err)

	// Revoking the rise session (browser logout) ends the app sessions and
	// the unredeemed tickets made from it, on the next request.
	t5, _ := e.s.issueTicket(claims.Subject, "hello.localhost", time.Now().Add(time.Hour), claims.ID)
	if err := e.s.revokeToken(ctx, claims.ID, claims.Subject, claims.Expiry.Time()); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.AppSessionIdentity(ctx, tok, "hello.localhost")
	refused("app session of a revoked rise session", err)
	_, _, err = e.s.RedeemTicket(ctx, t5, "hello.localhost")
	refused("ticket of a revoked rise session", err)
	if _, err := e.pool.Exec(ctx, `DELETE FROM revoked_tokens`); err != nil {
		t.Fatal(err)
	}

	// A deleted user's app session stops working.
	if _, err := e.pool.Exec(ctx, `DELETE FROM projects`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `DELETE FROM users WHERE id = $1`, claims.Subject); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.AppSessionIdentity(ctx, tok, "hello.localhost")
	refused("deleted user", err)
}
