package audit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/auth"
	"github.com/riseplatform/rise/server/servertest"
)

// TestAuthEvents runs the real auth service with the audit hook: logins,
// failed logins and refused tokens are recorded, and neither the password
// nor any token reaches the audit log.
func TestAuthEvents(t *testing.T) {
	const password = "correct-horse-battery-staple"
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	env := servertest.New(t, func(c *config.Server, d *server.Deps) {
		rec := audit.New(d.Store, audit.Options{})
		svc, err := auth.New(context.Background(), &config.Auth{Local: &config.LocalAuth{Users: []*config.LocalUser{
			{Email: "niklas@example.com", PasswordHash: string(h)},
		}}}, d.Store, auth.Options{PublicURL: "http://127.0.0.1:1", DataDir: t.TempDir(), Listen: "127.0.0.1:0",
			Log: hclog.NewNullLogger(), Audit: rec})
		if err != nil {
			t.Fatal(err)
		}
		d.Auth, d.Audit = svc, rec
	})

	login := func(email, pw string) (int, string) {
		b, _ := json.Marshal(api.LoginRequest{Email: email, Password: pw})
		return send(t, env, nil, "POST", "/auth/login", string(b), "")
	}
	if code, _ := login("niklas@example.com", "wrong-"+password); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", code)
	}
	// People type passwords into the email field: an unknown "email" is not kept.
	if code, _ := login(password, password); code != http.StatusUnauthorized {
		t.Fatalf("password as email: %d", code)
	}
	code, body := login("niklas@example.com", password)
	if code != http.StatusOK {
		t.Fatalf("login: %d %s", code, body)
	}
	var tr api.TokenResponse
	if err := json.Unmarshal([]byte(body), &tr); err != nil || tr.Token == "" {
		t.Fatalf("login response: %s", body)
	}
	niklas := &servertest.Caller{Token: tr.Token}
	if code, _ := send(t, env, niklas, "POST", "/projects", `{"name":"shop"}`, ""); code != http.StatusCreated {
		t.Fatalf("create with the login token: %d", code)
	}
	forged := &servertest.Caller{Token: tr.Token[:len(tr.Token)-4] + "AAAA"}
	if code, _ := send(t, env, forged, "GET", "/projects", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("forged token: %d", code)
	}

	rs := rows(t, env)
	var actions []string
	for _, r := range rs {
		actions = append(actions, r.Action+" "+r.Actor+" "+r.Outcome)
	}
	want := []string{
		"auth.login_failed anonymous denied",
		"auth.login_failed anonymous denied",
		"auth.login user:niklas success",
		"project.create user:niklas success",
		"auth.token_rejected anonymous denied",
	}
	if strings.Join(actions, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
	if rs[0].Details["email"] != "niklas@example.com" || len(rs[1].Details) != 0 {
		t.Errorf("failed-login details: %v, %v", rs[0].Details, rs[1].Details)
	}
	for _, r := range rs {
		if r.RequestID == "" || r.SourceIP != "127.0.0.1" || r.Target == "" {
			t.Errorf("incomplete event: %+v", r)
		}
	}

	// Nothing secret anywhere in the table, in any column.
	var dump string
	if err := env.Store.Pool().QueryRow(context.Background(),
		`SELECT COALESCE(string_agg(row_to_json(a)::text, E'\n'), '') FROM audit_events a`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{password, tr.Token, forged.Token, strings.Split(tr.Token, ".")[2]} {
		if strings.Contains(dump, secret) {
			t.Errorf("the audit log contains a secret %.12q…:\n%s", secret, dump)
		}
	}
}
