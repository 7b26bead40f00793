package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/httpx"
)

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// deviceKey is the auth_requests key of a device code (never stored in clear).
func deviceKey(deviceCode string) string { return "device:" + s256(deviceCode) }

// handleDeviceStart is POST /api/v1/auth/device/start (RFC 8628 §3.1).
func (s *Service) handleDeviceStart(w http.ResponseWriter, r *http.Request) {
	var req api.DeviceStartRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	p, op, err := s.discover(r.Context(), req.Provider)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	// Bound anonymous device logins before asking the IdP for a code.
	if err := s.pendingBound(r.Context(), s.clientIP(r)); err != nil {
		httpx.Err(w, r, err)
		return
	}
	cfg := p.oauth2Config(op, "")
	if cfg.Endpoint.DeviceAuthURL == "" {
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest,
			fmt.Sprintf("identity provider %q does not support the device flow", p.cfg.Name), "Run 'rise login' without --device."))
		return
	}
	// x/oauth2 sends only client_id to the device endpoint; confidential
	// clients authenticate with client_secret_post (Dex needs it later to
	// redeem the code it receives on its own device callback).
	var opts []oauth2.AuthCodeOption
	if p.cfg.ClientSecret != "" {
		opts = append(opts, oauth2.SetAuthURLParam("client_secret", p.cfg.ClientSecret))
	}
	da, err := cfg.DeviceAuth(oidc.ClientContext(r.Context(), p.client), opts...)
	if err != nil {
		s.log.Error("device authorization failed", "provider", p.cfg.Name, "error", err)
		httpx.Err(w, r, httpx.NewError(http.StatusBadGateway, fmt.Sprintf("identity provider %q refused the device authorization", p.cfg.Name)))
		return
	}
	exp := da.Expiry
	if exp.IsZero() {
		exp = s.now().Add(5 * time.Minute)
	}
	if err := s.savePending(r.Context(), s.clientIP(r), &pendingLogin{
		State: deviceKey(da.DeviceCode), Kind: kindDevice, Provider: p.cfg.Name, ExpiresAt: exp,
	}); err != nil {
		httpx.Err(w, r, err)
		return
	}
	interval := int(da.Interval)
	if interval <= 0 {
		interval = 5
	}
	httpx.JSON(w, http.StatusOK, api.DeviceStartResponse{
		DeviceCode: da.DeviceCode, UserCode: da.UserCode,
		VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
		Interval: interval, ExpiresAt: exp,
	})
}

// handleDevicePoll is POST /api/v1/auth/device/poll: one token request
// (RFC 8628 §3.4) per call; the CLI paces the polling.
func (s *Service) handleDevicePoll(w http.ResponseWriter, r *http.Request) {
	var req api.DevicePollRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	if req.DeviceCode == "" {
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "device_code is required"))
		return
	}
	// Only device codes this server started, not yet redeemed, are polled.
	var provName string
	err := s.db.QueryRow(r.Context(), `SELECT provider FROM auth_requests WHERE state = $1 AND kind = $2 AND expires_at > $3`,
		deviceKey(req.DeviceCode), kindDevice, s.now()).Scan(&provName)
	if errors.Is(err, pgx.ErrNoRows) {
		s.refuseLogin(w, r, fmt.Errorf("%w: unknown, expired or already redeemed device code", ErrInvalidCredentials))
		return
	}
	if err != nil {
		httpx.Err(w, r, fmt.Errorf("auth: device login: %w", err))
		return
	}
	p, op, err := s.discover(r.Context(), provName)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	res, err := s.pollDeviceToken(r, p, op, req.DeviceCode)
	if err != nil {
		s.refuseLogin(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, res)
}

func (s *Service) pollDeviceToken(r *http.Request, p *provider, op *oidc.Provider, deviceCode string) (*api.DevicePollResponse, error) {
	form := url.Values{"grant_type": {deviceGrant}, "device_code": {deviceCode}, "client_id": {p.cfg.ClientID}}
	hr, err := http.NewRequestWithContext(r.Context(), http.MethodPost, op.Endpoint().TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("auth: device token request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hr.Header.Set("Accept", "application/json")
	if p.cfg.ClientSecret != "" {
		hr.SetBasicAuth(url.QueryEscape(p.cfg.ClientID), url.QueryEscape(p.cfg.ClientSecret))
	}
	resp, err := p.client.Do(hr)
	if err != nil {
		s.log.Error("device token request failed", "provider", p.cfg.Name, "error", err)
		return nil, httpx.NewError(http.StatusBadGateway, fmt.Sprintf("identity provider %q is unavailable", p.cfg.Name))
	}
	defer resp.Body.Close()
	var body struct {
		Error    string `json:"error"`
		IDToken  string `json:"id_token"`
		Interval int    `json:"interval"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, fmt.Errorf("%w: device token response (HTTP %d) is not JSON", ErrInvalidCredentials, resp.StatusCode)
	}
	switch body.Error {
	case "":
	case "authorization_pending":
		return &api.DevicePollResponse{Status: api.DevicePending}, nil
	case "slow_down":
		return &api.DevicePollResponse{Status: api.DeviceSlowDown, Interval: body.Interval}, nil
	default: // access_denied, expired_token, invalid_grant...
		return nil, fmt.Errorf("%w: device token: %s", ErrInvalidCredentials, body.Error)
	}
	if resp.StatusCode != http.StatusOK || body.IDToken == "" {
		return nil, fmt.Errorf("%w: device token response without id_token (HTTP %d)", ErrInvalidCredentials, resp.StatusCode)
	}
	// Redeem the device code exactly once on this side too.
	if _, err := s.takePending(r.Context(), kindDevice, deviceKey(deviceCode), ""); err != nil {
		return nil, err
	}
	tr, err := s.loginWithIDToken(r, "device", p, op, body.IDToken, "")
	if err != nil {
		return nil, err
	}
	return &api.DevicePollResponse{Status: api.DeviceComplete, Token: tr}, nil
}
