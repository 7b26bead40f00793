package auth

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
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
// exists; posting it (with the form's CSRF token) sets a host-only
// HttpOnly rise_session cookie that IdentityFromRequest accepts, and rd is
// checked against open redirects. Even with rise under the apps domain the
// cookie stays host-only (it would otherwise reach every app, and an
// ingress would forward it): apps get a ticket.
func TestBrowserLocalSession(t *testing.T) {
	e := newEnv(t, localConfig(t), func(o *Options) { o.AppsDomain = "apps.example.com"; o.PublicURL = "https://rise.apps.example.com" })
	// Cookies are handled by hand: they are Secure (https public URL) while
	// the test server speaks http.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const app = "https://shop.apps.example.com/x"

	for _, rd := range []string{"https://evil.com/", "https://apps.example.com.evil.com/", "//evil.com", "javascript:alert(1)",
		"https://evil.example", "http://shop.apps.example.com/x", "https://shop.apps.example.com:8443/x",
		"https://shop.apps.example.com:/x", "https://user@shop.apps.example.com/", "ftp://shop.apps.example.com/"} {
		resp, err := noFollow.Get(e.srv.URL + "/auth/login?rd=" + url.QueryEscape(rd))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("rd=%s: %d, want 400", rd, resp.StatusCode)
		}
	}
	post := func(form url.Values, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/auth/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	form := func(password, csrf string) url.Values {
		return url.Values{"email": {"admin@example.com"}, "password": {password}, "rd": {app}, "csrf": {csrf}}
	}

	// Login CSRF: a form posted from another site lacks the token, the
	// cookie, or both.
	token, cookie := getLoginForm(t, noFollow, e.srv.URL, app)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Domain != "" {
		t.Errorf("CSRF cookie: %+v", cookie)
	}
	for name, resp := range map[string]*http.Response{
		"no cookie, no token":    post(form("s3cret-pass", "")),
		"token without cookie":   post(form("s3cret-pass", token)),
		"cookie without token":   post(form("s3cret-pass", ""), cookie),
		"cookie of another form": post(form("s3cret-pass", token), &http.Cookie{Name: cookie.Name, Value: "x" + token}),
	} {
		if resp.StatusCode != http.StatusForbidden || sessionCookieOf(resp) != nil {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	if resp := post(form("wrong", token), cookie); resp.StatusCode != http.StatusUnauthorized || sessionCookieOf(resp) != nil {
		t.Errorf("wrong password: %d cookies %v", resp.StatusCode, resp.Cookies())
	}

	token, cookie = getLoginForm(t, noFollow, e.srv.URL, app)
	resp := post(form("s3cret-pass", token), cookie)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Host != "shop.apps.example.com" || loc.Path != "/.rise/callback" || loc.Query().Get("ticket") == "" {
		t.Fatalf("login: %d -> %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := sessionCookieOf(resp)
	if c == nil || !c.HttpOnly || c.Domain != "" || c.SameSite != http.SameSiteLaxMode || !c.Secure {
		t.Fatalf("session cookie (must be host-only): %+v", c)
	}

	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.Value})
	id, err := e.s.IdentityFromRequest(req)
	if err != nil || id == nil || id.Email != "admin@example.com" {
		t.Fatalf("IdentityFromRequest(cookie): %+v %v", id, err)
	}
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	if id, err := e.s.IdentityFromRequest(req); id != nil || err != nil {
		t.Errorf("anonymous: %+v %v", id, err)
	}
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.Value + "x"})
	if _, err := e.s.IdentityFromRequest(req); err == nil {
		t.Error("tampered cookie accepted")
	}

	// Logging out revokes the session server-side: a copy of the cookie
	// is refused afterwards.
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/auth/logout", nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.Value})
	resp, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: c.Value})
	if _, err := e.s.IdentityFromRequest(req); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("session cookie after logout: %v, want refused", err)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// getLoginForm opens the local login form with c and returns its CSRF
// token and cookie.
func getLoginForm(t *testing.T, c *http.Client, base, rd string) (string, *http.Cookie) {
	t.Helper()
	resp, err := c.Get(base + "/auth/login?rd=" + url.QueryEscape(rd))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(b)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || m == nil {
		t.Fatalf("login form: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == csrfCookie {
			return string(m[1]), ck
		}
	}
	t.Fatal("login form without a CSRF cookie")
	return "", nil
}

func sessionCookieOf(resp *http.Response) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == SessionCookie {
			return ck
		}
	}
	return nil
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
