package auth

import (
	"net/http"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/httpx"
)

// handleDiscovery is GET /.well-known/openid-configuration: enough of an
// OIDC discovery document for others (registry token auth, ingress auth,
// go-oidc) to verify rise tokens.
func (s *Service) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.JSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuer,
		"jwks_uri":                              s.issuer + "/.well-known/jwks.json",
		"authorization_endpoint":                s.issuer + "/auth/login",
		"token_endpoint":                        s.issuer + "/api/v1/auth/code/exchange",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(s.key.alg)},
		"code_challenge_methods_supported":      []string{api.PKCEMethodS256},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "email", "name", "admin"},
	})
}

// handleJWKS is GET /.well-known/jwks.json.
func (s *Service) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.JSON(w, http.StatusOK, s.key.jwks())
}

// handleConfig is GET /api/v1/auth/config.
func (s *Service) handleConfig(w http.ResponseWriter, r *http.Request) {
	out := api.AuthConfig{Local: len(s.local) > 0, Providers: []api.AuthProvider{}, Issuer: s.issuer}
	for _, p := range s.providers {
		ap := api.AuthProvider{Name: p.cfg.Name, Issuer: p.cfg.Issuer}
		if op, err := p.get(r.Context()); err == nil {
			ap.Device = op.Endpoint().DeviceAuthURL != ""
		}
		out.Providers = append(out.Providers, ap)
	}
	httpx.JSON(w, http.StatusOK, out)
}
