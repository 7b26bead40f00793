package registry

import (
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/httpx"
)

// tokenResponse is distribution's token response body.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

// TokenHandler is the registry's token realm: GET ?service=&scope=&client_id=
// with the credentials from the registry-credentials route as HTTP basic
// auth. Bad or expired credentials answer 401.
func TokenHandler(tokens sdk.TokenIssuer, log hclog.Logger) http.Handler {
	log = logger(log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tokens == nil {
			httpx.Err(w, r, httpx.NewError(http.StatusNotFound, "the configured registry does not use rise's token service"))
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="rise registry"`)
			httpx.Err(w, r, httpx.NewError(http.StatusUnauthorized,
				"registry credentials required", "get push credentials from rise (rise deploy / rise build --push) and docker login with them"))
			return
		}
		q := r.URL.Query()
		var scopes []string
		for _, s := range q["scope"] {
			scopes = append(scopes, strings.Fields(s)...)
		}
		tok, err := tokens.IssueToken(r.Context(), &sdk.TokenRequest{
			Username: user, Password: pass, Service: q.Get("service"), Scopes: scopes, ClientID: q.Get("client_id"),
		})
		if err != nil {
			if sdk.IsPermanent(err) {
				log.Info("registry token refused", "user", user, "scopes", scopes, "reason", err)
				w.Header().Set("WWW-Authenticate", `Basic realm="rise registry"`)
				httpx.Err(w, r, httpx.NewError(http.StatusUnauthorized, err.Error()))
				return
			}
			httpx.Err(w, r, err)
			return
		}
		issued := tok.IssuedAt
		if issued.IsZero() {
			issued = time.Now()
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.JSON(w, http.StatusOK, tokenResponse{
			Token: tok.Token, AccessToken: tok.Token,
			ExpiresIn: int(tok.ExpiresIn / time.Second), IssuedAt: issued.UTC().Format(time.RFC3339),
		})
	})
}
