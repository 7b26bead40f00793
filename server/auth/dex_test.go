package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/dextest"
)

// browser plays the user's browser: it keeps cookies, follows redirects
// and stops at URLs that belong to the party under test (the CLI's
// loopback callback), returning them instead of fetching them.
type browser struct {
	t    *testing.T
	c    *http.Client
	stop []string
}

func newBrowser(t *testing.T, stop ...string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, stop: stop}
	b.c = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		for _, p := range b.stop {
			if strings.HasPrefix(req.URL.String(), p) {
				return http.ErrUseLastResponse
			}
		}
		if len(via) > 20 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

var formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// dexLogin opens authURL, fills in Dex's password form and returns where the
// browser is sent at the end (a stop URL) and the final response.
func (b *browser) dexLogin(authURL, email, password string) *http.Response {
	b.t.Helper()
	resp, err := b.c.Get(authURL)
	if err != nil {
		b.t.Fatalf("open authorization URL: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("login page: %d %s", resp.StatusCode, page)
	}
	return b.dexLoginFrom(resp.Request.URL, page, email, password)
}

// dexLoginFrom posts Dex's password form found on page (served at pageURL).
func (b *browser) dexLoginFrom(pageURL *url.URL, page []byte, email, password string) *http.Response {
	b.t.Helper()
	action := pageURL
	if m := formAction.FindSubmatch(page); m != nil {
		ref, err := url.Parse(html.UnescapeString(string(m[1])))
		if err == nil {
			action = pageURL.ResolveReference(ref)
		}
	}
	resp, err := b.c.PostForm(action.String(), url.Values{"login": {email}, "password": {password}})
	if err != nil {
		b.t.Fatalf("post login form: %v", err)
	}
	resp.Body.Close()
	return resp
}

func pkce() (verifier, challenge string) {
	verifier = oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestDexCodeFlow drives the CLI login (authorization code + PKCE) end to
// end against a real Dex, then the attacks on it: code replay, verifier
// mismatch, plain PKCE, foreign redirect URIs.
func TestDexCodeFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Dex")
	}
	dex := dextest.Start(t, dextest.Options{})
	e := newEnv(t, &config.Auth{OIDC: []*config.OIDCProvider{{
		Name: "dex", Issuer: dex.Issuer, ClientID: dex.ClientID, ClientSecret: dex.ClientSecret,
		AdminEmails: []string{dex.Email},
	}}})
	const redirect = "http://localhost:8765/callback"

	// authorize → browser logs in at Dex → code at the CLI's callback.
	login := func(verifierOverride string) (api.AuthorizeResponse, string, string) {
		t.Helper()
		verifier, challenge := pkce()
		code, b := e.call(http.MethodPost, "/api/v1/auth/authorize", "", api.AuthorizeRequest{
			RedirectURI: redirect, CodeChallenge: challenge, CodeChallengeMethod: "S256",
		})
		if code != http.StatusOK {
			t.Fatalf("authorize: %d %s", code, b)
		}
		var ar api.AuthorizeResponse
		_ = json.Unmarshal(b, &ar)
		if !strings.HasPrefix(ar.AuthorizationURL, dex.Issuer+"/auth?") || !strings.Contains(ar.AuthorizationURL, "code_challenge="+challenge) {
			t.Fatalf("authorization URL: %s", ar.AuthorizationURL)
		}
		resp := newBrowser(t, redirect).dexLogin(ar.AuthorizationURL, dex.Email, dex.Password)
		loc, err := resp.Location()
		if err != nil || !strings.HasPrefix(loc.String(), redirect) {
			t.Fatalf("dex did not redirect to the callback: %d %v %v\ndex log:\n%s", resp.StatusCode, loc, err, dex.Logs())
		}
		if loc.Query().Get("state") != ar.State || loc.Query().Get("code") == "" {
			t.Fatalf("callback query: %s", loc.RawQuery)
		}
		if verifierOverride != "" {
			verifier = verifierOverride
		}
		return ar, loc.Query().Get("code"), verifier
	}

	ar, code, verifier := login("")
	req := api.CodeExchangeRequest{Code: code, CodeVerifier: verifier, RedirectURI: redirect, State: ar.State}
	status, b := e.call(http.MethodPost, "/api/v1/auth/code/exchange", "", req)
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %s\n%s", status, b, e.logs)
	}
	var tr api.TokenResponse
	_ = json.Unmarshal(b, &tr)
	if tr.User.Email != dex.Email || !tr.User.Admin || tr.Token == "" {
		t.Errorf("token response: %+v", tr)
	}
	if st, id := e.whoami(tr.Token); st != http.StatusOK || id.Email != dex.Email {
		t.Errorf("whoami: %d %+v", st, id)
	}

	refused := func(name string, req api.CodeExchangeRequest) {
		t.Helper()
		before := strings.Count(e.logs.String(), "refused login")
		st, b := e.call(http.MethodPost, "/api/v1/auth/code/exchange", "", req)
		if st != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", name, st, b)
		}
		if strings.Contains(string(b), "PKCE") || strings.Contains(string(b), "invalid_grant") {
			t.Errorf("%s: response leaks the reason: %s", name, b)
		}
		if strings.Count(e.logs.String(), "refused login") != before+1 {
			t.Errorf("%s: no log line", name)
		}
	}
	// Code replay: the same exchange again, with or without state.
	refused("code replay", req)
	req.State = ""
	refused("code replay without state", req)

	// Verifier mismatch: a fresh, valid code with the wrong verifier.
	ar, code, _ = login("")
	wrongVerifier, _ := pkce()
	refused("PKCE verifier mismatch", api.CodeExchangeRequest{Code: code, CodeVerifier: wrongVerifier, RedirectURI: redirect, State: ar.State})
	refused("PKCE verifier mismatch, without state", api.CodeExchangeRequest{Code: code, CodeVerifier: wrongVerifier, RedirectURI: redirect})

	// Exchange found by the verifier's challenge when state is omitted; a
	// different redirect URI than the authorized one is refused.
	ar, code, verifier = login("")
	refused("redirect_uri swapped", api.CodeExchangeRequest{Code: code, CodeVerifier: verifier, RedirectURI: "http://localhost:8766/callback", State: ar.State})
	_, code, verifier = login("")
	if st, b := e.call(http.MethodPost, "/api/v1/auth/code/exchange", "", api.CodeExchangeRequest{Code: code, CodeVerifier: verifier, RedirectURI: redirect}); st != http.StatusOK {
		t.Errorf("exchange without state: %d %s", st, b)
	}

	// An authorization older than loginTTL cannot be exchanged.
	ar, code, verifier = login("")
	e.setNow(time.Now().Add(loginTTL + time.Minute))
	refused("expired authorization", api.CodeExchangeRequest{Code: code, CodeVerifier: verifier, RedirectURI: redirect, State: ar.State})
	e.setNow(time.Time{})

	// Requests the server refuses up front.
	_, challenge := pkce()
	for name, ar := range map[string]api.AuthorizeRequest{
		"plain PKCE":             {RedirectURI: redirect, CodeChallenge: challenge, CodeChallengeMethod: "plain"},
		"no PKCE":                {RedirectURI: redirect},
		"foreign redirect":       {RedirectURI: "https://evil.example.com/callback", CodeChallenge: challenge, CodeChallengeMethod: "S256"},
		"redirect on other port": {RedirectURI: "http://localhost:9999/callback", CodeChallenge: challenge, CodeChallengeMethod: "S256"},
		"unknown provider":       {RedirectURI: redirect, CodeChallenge: challenge, CodeChallengeMethod: "S256", Provider: "nope"},
	} {
		if st, b := e.call(http.MethodPost, "/api/v1/auth/authorize", "", ar); st != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", name, st, b)
		}
	}
}

// TestDexBrowserSession logs a browser in through Dex via /auth/login and
// checks the rise_session cookie it ends with.
func TestDexBrowserSession(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Dex")
	}
	// The server's callback URL must be registered at Dex before Dex starts,
	// so the test server's address is reserved first.
	var dex *dextest.Dex
	e := newEnvWith(t, func(publicURL string) *config.Auth {
		dex = dextest.Start(t, dextest.Options{ExtraRedirectURIs: []string{publicURL + "/auth/callback"}})
		return &config.Auth{OIDC: []*config.OIDCProvider{{Name: "dex", Issuer: dex.Issuer, ClientID: dex.ClientID, ClientSecret: dex.ClientSecret}}}
	}, func(o *Options) { o.AppsDomain = "localhost" })
	const app = "http://shop.localhost/private"
	br := newBrowser(t, "http://shop.localhost/")
	resp, err := br.c.Get(e.srv.URL + "/auth/login?rd=" + url.QueryEscape(app))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "password") {
		t.Fatalf("expected Dex's login form, got %d %s", resp.StatusCode, page)
	}
	resp = br.dexLogin(e.srv.URL+"/auth/login?rd="+url.QueryEscape(app), dex.Email, dex.Password)
	// rise's cookie cannot reach shop.localhost: the browser goes to the
	// app host's ticket callback, and the ticket carries the session there.
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Host != "shop.localhost" ||
		loc.Path != "/.rise/callback" || loc.Query().Get("rd") != "/private" {
		t.Fatalf("after login: %d -> %v\n%s", resp.StatusCode, loc, e.logs)
	}
	appToken, _, err := e.s.RedeemTicket(context.Background(), loc.Query().Get("ticket"), "shop.localhost")
	if err != nil {
		t.Fatalf("RedeemTicket: %v", err)
	}
	if id, err := e.s.AppSessionIdentity(context.Background(), appToken, "shop.localhost"); err != nil || id.Email != dex.Email {
		t.Fatalf("AppSessionIdentity: %+v %v", id, err)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly {
		t.Fatalf("no HttpOnly session cookie: %v", resp.Cookies())
	}
	r, _ := http.NewRequest(http.MethodGet, app, nil)
	r.AddCookie(session)
	id, err := e.s.IdentityFromRequest(r)
	if err != nil || id == nil || id.Email != dex.Email {
		t.Fatalf("IdentityFromRequest: %+v %v", id, err)
	}

	// A forged IdP callback is refused.
	st, b := e.call(http.MethodGet, "/auth/callback?state=forged&code=forged", "", nil)
	if st != http.StatusBadRequest {
		t.Errorf("forged callback: %d %s", st, b)
	}

	// Login CSRF: the attacker logs in at Dex as themself in their own
	// browser and stops at rise's callback; the victim's browser opening
	// that callback URL (attacker's code and state) is refused and gets no
	// session, while the attacker's own browser could finish it.
	attacker := newBrowser(t, e.srv.URL+"/auth/callback")
	resp = attacker.dexLogin(e.srv.URL+"/auth/login?rd="+url.QueryEscape(app), dex.Email, dex.Password)
	cb, err := resp.Location()
	if err != nil || !strings.HasPrefix(cb.String(), e.srv.URL+"/auth/callback?") {
		t.Fatalf("attacker's callback: %d %v %v", resp.StatusCode, cb, err)
	}
	victim := newBrowser(t, "http://shop.localhost/")
	resp, err = victim.c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || len(resp.Cookies()) != 0 {
		t.Errorf("victim opening the attacker's callback: %d cookies %v", resp.StatusCode, resp.Cookies())
	}
	// An error from the "IdP" with a foreign state is refused the same way
	// (the error page is not shown for logins this browser did not start).
	resp, _ = victim.c.Get(e.srv.URL + "/auth/callback?state=x&error=access_denied")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("foreign error callback: %d", resp.StatusCode)
	}
	resp.Body.Close()
	// The attacker's own browser (holding the state cookie) finishes it.
	attacker.stop = []string{"http://shop.localhost/"}
	resp, err = attacker.c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the starting browser's callback: %d\n%s", resp.StatusCode, e.logs)
	}
}
