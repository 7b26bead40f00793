package auth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/dextest"
)

// TestDexDeviceFlow drives the device authorization grant (RFC 8628)
// through the server against a real Dex: start, poll (pending), the user
// approves in a browser, poll (complete → rise token).
func TestDexDeviceFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Dex")
	}
	dex := dextest.Start(t, dextest.Options{})
	e := newEnv(t, &config.Auth{OIDC: []*config.OIDCProvider{{
		Name: "dex", Issuer: dex.Issuer, ClientID: dex.ClientID, ClientSecret: dex.ClientSecret,
	}}})

	code, b := e.call(http.MethodGet, "/api/v1/auth/config", "", nil)
	var ac api.AuthConfig
	_ = json.Unmarshal(b, &ac)
	if code != http.StatusOK || len(ac.Providers) != 1 || !ac.Providers[0].Device || ac.Local {
		t.Fatalf("auth config: %d %s", code, b)
	}

	code, b = e.call(http.MethodPost, "/api/v1/auth/device/start", "", api.DeviceStartRequest{})
	if code != http.StatusOK {
		t.Fatalf("device start: %d %s\n%s", code, b, dex.Logs())
	}
	var ds api.DeviceStartResponse
	_ = json.Unmarshal(b, &ds)
	if ds.DeviceCode == "" || ds.UserCode == "" || !strings.HasPrefix(ds.VerificationURI, dex.Issuer) || ds.Interval <= 0 {
		t.Fatalf("device start response: %+v", ds)
	}
	poll := func() (int, api.DevicePollResponse, string) {
		code, b := e.call(http.MethodPost, "/api/v1/auth/device/poll", "", api.DevicePollRequest{DeviceCode: ds.DeviceCode})
		var pr api.DevicePollResponse
		_ = json.Unmarshal(b, &pr)
		return code, pr, string(b)
	}
	if code, pr, raw := poll(); code != http.StatusOK || pr.Status != api.DevicePending {
		t.Fatalf("first poll: %d %s", code, raw)
	}

	// The user opens the verification URL, submits the code, logs in.
	br := newBrowser(t)
	resp, err := br.c.PostForm(dex.Issuer+"/device/auth/verify_code", url.Values{"user_code": {ds.UserCode}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("verify code: %d %s\n%s", resp.StatusCode, page, dex.Logs())
	}
	resp = br.dexLoginFrom(resp.Request.URL, page, dex.Email, dex.Password)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("device login: %d at %s\n%s", resp.StatusCode, resp.Request.URL, dex.Logs())
	}

	code, pr, raw := poll()
	if code != http.StatusOK || pr.Status != api.DeviceComplete || pr.Token == nil || pr.Token.User.Email != dex.Email {
		t.Fatalf("poll after approval: %d %s\n%s", code, raw, e.logs)
	}
	if st, id := e.whoami(pr.Token.Token); st != http.StatusOK || id.Email != dex.Email {
		t.Errorf("whoami: %d %+v", st, id)
	}
	// A device code is good for one token only.
	if code, _, raw := poll(); code != http.StatusUnauthorized {
		t.Errorf("poll after completion: %d %s", code, raw)
	}
	if code, _ := e.call(http.MethodPost, "/api/v1/auth/device/poll", "", api.DevicePollRequest{DeviceCode: "forged"}); code != http.StatusUnauthorized {
		t.Errorf("forged device code: %d", code)
	}
}
