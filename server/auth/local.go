package auth

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/httpx"
)

// Local login limits per window: attempts per client address and email,
// per account (from any address: a botnet guessing one password) and per
// client address (one address guessing many accounts).
const (
	localLoginMax        = 10
	localLoginAccountMax = 20
	localLoginIPMax      = 30
	localLoginWindow     = time.Minute
)

// dummyHash keeps the response time of an unknown email like a known one.
// Made on first use: the rise binary is also the CLI and must start fast.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("rise-dummy-password"), bcrypt.DefaultCost)
	return h
})

func (s *Service) initLocal(l *config.LocalAuth, listen string) error {
	s.limiter = newLimiter(localLoginMax, localLoginWindow, s.now)
	s.accountLimiter = newLimiter(localLoginAccountMax, localLoginWindow, s.now)
	s.ipLimiter = newLimiter(localLoginIPMax, localLoginWindow, s.now)
	if l == nil {
		return nil
	}
	for _, u := range l.Users {
		email := strings.ToLower(strings.TrimSpace(u.Email))
		if !strings.Contains(email, "@") {
			return fmt.Errorf("auth: local user %q: the label must be an email address", u.Email)
		}
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			return fmt.Errorf("auth: local user %q: password_hash is not a bcrypt hash (make one with `htpasswd -bnBC 12 \"\" PASSWORD | tr -d ':'`)", u.Email)
		}
		s.local[email] = u
	}
	if len(s.local) > 0 && !loopbackListen(listen) {
		s.log.Warn("local email/password authentication is enabled on a non-loopback listen address; it is meant for development only", "listen", listen)
	}
	return nil
}

// loopbackListen reports whether addr ("host:port") only listens on loopback.
func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkLocal verifies email+password of a local user, rate-limited per
// ip+email, per account and per ip. The error is an *httpx.Error safe to
// show.
func (s *Service) checkLocal(r *http.Request, email, password string) (*config.LocalUser, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	ip := s.clientIP(r)
	for _, l := range []struct {
		lim *limiter
		key string
	}{{s.limiter, ip + "|" + email}, {s.accountLimiter, email}, {s.ipLimiter, ip}} {
		if ok, wait := l.lim.allow(l.key); !ok {
			s.log.Warn("local login rate limited", "email", email, "remote", ip, "limit", l.lim.max)
			s.auditLoginFailed(r, http.StatusTooManyRequests, "")
			e := httpx.NewError(http.StatusTooManyRequests, "too many login attempts; try again later")
			e.Suggestions = []string{"Wait " + strconv.Itoa(int(wait.Seconds())+1) + " seconds."}
			return nil, e
		}
	}
	u := s.local[email]
	hash := dummyHash()
	if u != nil {
		hash = []byte(u.PasswordHash)
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || u == nil {
		s.log.Warn("local login failed", "email", email, "remote", ip, "known_user", u != nil)
		known := ""
		if u != nil {
			known = u.Email
		}
		s.auditLoginFailed(r, http.StatusUnauthorized, known)
		return nil, httpx.NewError(http.StatusUnauthorized, "invalid email or password")
	}
	return u, nil
}

// handleLocalLogin is POST /api/v1/auth/login.
func (s *Service) handleLocalLogin(w http.ResponseWriter, r *http.Request) {
	if len(s.local) == 0 {
		httpx.Err(w, r, httpx.NewError(http.StatusNotFound, "local login is not enabled on this server", "Run 'rise login' without --email to log in through the identity provider."))
		return
	}
	var req api.LoginRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	lu, err := s.checkLocal(r, req.Email, req.Password)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	resp, err := s.login(r, "local", lu)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, resp)
}

// login upserts a local user (by email: local users are the operator's
// own configuration), records their configured groups and issues a rise
// token.
func (s *Service) login(r *http.Request, method string, lu *config.LocalUser) (*api.TokenResponse, error) {
	u, err := s.users.upsertUser(r.Context(), lu.Email, lu.Name, lu.Admin)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := s.users.setGroups(r.Context(), u.ID, lu.Groups); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	u.Groups = lu.Groups
	return s.issueFor(r, method, u)
}

// issueFor issues a rise token to a user who just logged in with method.
func (s *Service) issueFor(r *http.Request, method string, u *userInfo) (*api.TokenResponse, error) {
	tok, exp, err := s.issue(u)
	if err != nil {
		return nil, err
	}
	s.log.Info("user logged in", "user", u.Name, "method", method, "remote", s.clientIP(r))
	s.audit(r, audit.Event{Action: audit.ActionLogin, Actor: "user:" + u.Name, Status: http.StatusOK, Details: map[string]any{"method": method}})
	return &api.TokenResponse{Token: tok, ExpiresAt: exp, User: u.api()}, nil
}
