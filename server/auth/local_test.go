package auth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
)

func localConfig(t *testing.T) *config.Auth {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return &config.Auth{Local: &config.LocalAuth{Users: []*config.LocalUser{
		{Email: "Admin@Example.com", PasswordHash: string(h), Name: "Admin", Admin: true},
	}}}
}

func TestLocalLogin(t *testing.T) {
	e := newEnv(t, localConfig(t))

	code, b := e.call(http.MethodPost, "/api/v1/auth/login", "", api.LoginRequest{Email: "admin@example.com", Password: "s3cret-pass"})
	if code != http.StatusOK {
		t.Fatalf("login: %d %s", code, b)
	}
	var tr api.TokenResponse
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.User.Email != "admin@example.com" || !tr.User.Admin || tr.User.Name != "admin" || tr.Token == "" {
		t.Errorf("login response: %+v", tr)
	}
	if code, id := e.whoami(tr.Token); code != http.StatusOK || id.Email != "admin@example.com" || !id.Admin || id.UserID != tr.User.ID {
		t.Errorf("whoami with the login token: %d %+v", code, id)
	}

	// Anonymous: the middleware passes, Require answers 401.
	if code, b := e.call(http.MethodGet, "/api/v1/whoami", "", nil); code != http.StatusUnauthorized || !strings.Contains(string(b), "authentication required") {
		t.Errorf("anonymous whoami: %d %s", code, b)
	}

	// Wrong password and unknown user look the same.
	_, wrong := e.call(http.MethodPost, "/api/v1/auth/login", "", api.LoginRequest{Email: "admin@example.com", Password: "nope"})
	code, unknown := e.call(http.MethodPost, "/api/v1/auth/login", "", api.LoginRequest{Email: "ghost@example.com", Password: "nope"})
	if code != http.StatusUnauthorized || string(wrong) != string(unknown) {
		t.Errorf("failed logins differ: %d %s vs %s", code, wrong, unknown)
	}
	if !strings.Contains(e.logs.String(), "local login failed") {
		t.Error("no log line for a failed login")
	}

	// Rate limit per IP+email: 10 attempts a minute (2 used above for admin).
	var last int
	for i := 0; i < localLoginMax; i++ {
		last, _ = e.call(http.MethodPost, "/api/v1/auth/login", "", api.LoginRequest{Email: "admin@example.com", Password: "nope"})
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("after %d attempts: %d, want 429", localLoginMax+2, last)
	}
	// Even the right password is refused while limited; another email is not.
	if code, _ := e.call(http.MethodPost, "/api/v1/auth/login", "", api.LoginRequest{Email: "admin@example.com", Password: "s3cret-pass"}); code != http.StatusTooManyRequests {
		t.Errorf("right password while limited: %d", code)
	}
	if code, _ := e.call(http.MethodPost, "/api/v1/auth/login", "", api.LoginRequest{Email: "other@example.com", Password: "x"}); code != http.StatusUnauthorized {
		t.Errorf("other email while admin is limited: %d", code)
	}
	e.setNow(time.Now().Add(localLoginWindow + time.Second))
	if code, _ := e.call(http.MethodPost, "/api/v1/auth/login", "", api.LoginRequest{Email: "admin@example.com", Password: "s3cret-pass"}); code != http.StatusOK {
		t.Errorf("after the window: %d", code)
	}

	// Config endpoint reports local login.
	code, b = e.call(http.MethodGet, "/api/v1/auth/config", "", nil)
	var ac api.AuthConfig
	_ = json.Unmarshal(b, &ac)
	if code != http.StatusOK || !ac.Local || ac.Issuer != e.s.issuer {
		t.Errorf("auth config: %d %s", code, b)
	}
}

func TestLocalOnNonLoopbackWarns(t *testing.T) {
	e := newEnv(t, localConfig(t), func(o *Options) { o.Listen = "0.0.0.0:3000" })
	if !strings.Contains(e.logs.String(), "development only") {
		t.Errorf("no warning for local auth on 0.0.0.0:\n%s", e.logs)
	}
	e2 := newEnv(t, localConfig(t))
	if strings.Contains(e2.logs.String(), "development only") {
		t.Error("warning on a loopback listen address")
	}
}

func TestLocalDisabled(t *testing.T) {
	e := newEnv(t, nil)
	if code, _ := e.call(http.MethodPost, "/api/v1/auth/login", "", api.LoginRequest{Email: "a@example.com", Password: "x"}); code != http.StatusNotFound {
		t.Errorf("local login without local users: %d", code)
	}
}

// TestBrowserLocalSession: /auth/login shows a form when only local auth
// exists; posting it sets an HttpOnly rise_session cookie that
// IdentityFromRequest accepts, and rd is checked against open redirects.
func TestBrowserLocalSession(t *testing.T) {
	// rise under the apps domain: the shared-cookie set-up (for the ticket
	// set-up see apps_test.go and server/edge).
	e := newEnv(t, localConfig(t), func(o *Options) { o.AppsDomain = "apps.example.com"; o.PublicURL = "https://rise.apps.example.com" })
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := noFollow.Get(e.srv.URL + "/auth/login?rd=" + url.QueryEscape("https://shop.apps.example.com/x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("login form: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, rd := range []string{"https://evil.com/", "https://apps.example.com.evil.com/", "//evil.com", "javascript:alert(1)"} {
		resp, err := noFollow.Get(e.srv.URL + "/auth/login?rd=" + url.QueryEscape(rd))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("rd=%s: %d, want 400", rd, resp.StatusCode)
		}
	}

	resp, err = noFollow.PostForm(e.srv.URL+"/auth/login", url.Values{"email": {"admin@example.com"}, "password": {"wrong"}, "rd": {"https://shop.apps.example.com/x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("wrong password: %d cookies %v", resp.StatusCode, resp.Cookies())
	}

	resp, err = noFollow.PostForm(e.srv.URL+"/auth/login", url.Values{"email": {"admin@example.com"}, "password": {"s3cret-pass"}, "rd": {"https://shop.apps.example.com/x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.apps.example.com/x" {
		t.Fatalf("login: %d -> %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie {
			c = ck
		}
	}
	if c == nil || !c.HttpOnly || c.Domain != "apps.example.com" || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie: %+v", c)
	}

	req, _ := http.NewRequest(http.MethodGet, "https://shop.apps.example.com/x", nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.Value})
	id, err := e.s.IdentityFromRequest(req)
	if err != nil || id == nil || id.Email != "admin@example.com" {
		t.Fatalf("IdentityFromRequest(cookie): %+v %v", id, err)
	}
	req, _ = http.NewRequest(http.MethodGet, "https://shop.apps.example.com/x", nil)
	if id, err := e.s.IdentityFromRequest(req); id != nil || err != nil {
		t.Errorf("anonymous: %+v %v", id, err)
	}
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.Value + "x"})
	if _, err := e.s.IdentityFromRequest(req); err == nil {
		t.Error("tampered cookie accepted")
	}
}

// TestStaleTokenDoesNotBlockLogin: an invalid bearer token on a login route
// is ignored (anonymous), while protected routes refuse it.
func TestStaleTokenDoesNotBlockLogin(t *testing.T) {
	e := newEnv(t, localConfig(t))
	if code, b := e.call(http.MethodPost, "/api/v1/auth/login", "stale.token.value", api.LoginRequest{Email: "admin@example.com", Password: "s3cret-pass"}); code != http.StatusOK {
		t.Errorf("login with a stale token: %d %s", code, b)
	}
	e.expectRefused("stale token on a protected route", "stale.token.value")
}
