package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/environments"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// serviceAccountRow is a service account bound to its project.
type serviceAccountRow struct {
	ID, ProjectID, Project, Issuer, CreatedBy string
	CreatedByID                               string // users.id, "" when the creator was deleted
	Claims                                    map[string]string
	Environments                              []string
	CreatedAt                                 time.Time
}

func (sa *serviceAccountRow) api() api.ServiceAccount {
	return api.ServiceAccount{ID: sa.ID, Project: sa.Project, Issuer: sa.Issuer, Claims: sa.Claims, Environments: sa.Environments,
		CreatedBy: sa.CreatedBy, CreatedAt: sa.CreatedAt}
}

const saColumns = `sa.id::text, sa.project_id::text, p.name, sa.issuer, sa.claims, sa.environments, COALESCE(u.name, ''), COALESCE(sa.created_by::text, ''), sa.created_at
	FROM service_accounts sa JOIN projects p ON p.id = sa.project_id LEFT JOIN users u ON u.id = sa.created_by`

func scanSAs(rows pgx.Rows) ([]*serviceAccountRow, error) {
	defer rows.Close()
	var out []*serviceAccountRow
	for rows.Next() {
		var sa serviceAccountRow
		var claims []byte
		if err := rows.Scan(&sa.ID, &sa.ProjectID, &sa.Project, &sa.Issuer, &claims, &sa.Environments, &sa.CreatedBy, &sa.CreatedByID, &sa.CreatedAt); err != nil {
			return nil, fmt.Errorf("scan service account: %w", err)
		}
		if err := json.Unmarshal(claims, &sa.Claims); err != nil {
			return nil, fmt.Errorf("service account %s claims: %w", sa.ID, err)
		}
		out = append(out, &sa)
	}
	return out, rows.Err()
}

// claimString renders a JWT claim value for matching; arrays and objects
// never match.
func claimString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	default:
		return "", false
	}
}

// matches reports whether every required claim matches (exact, or a glob in
// path.Match syntax, where '*' does not cross '/').
func (sa *serviceAccountRow) matches(claims map[string]any) bool {
	for k, want := range sa.Claims {
		got, ok := claimString(claims[k])
		if !ok {
			return false
		}
		if ok, err := path.Match(want, got); err != nil || !ok {
			return false
		}
	}
	return true
}

// serviceAccountIdentity authenticates a trusted issuer's JWT as the
// service account whose claims it matches. When several match, the one for
// the project in the request path wins, else the oldest.
func (s *Service) serviceAccountIdentity(r *http.Request, t *trustedIssuer, raw string) (*identity.Identity, error) {
	idt, err := t.verify(r.Context(), raw, s.now)
	if err != nil {
		return nil, fmt.Errorf("%w: trusted issuer %q: %v", ErrInvalidCredentials, t.cfg.Name, err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: trusted issuer %q claims: %v", ErrInvalidCredentials, t.cfg.Name, err)
	}
	rows, err := s.db.Query(r.Context(), `SELECT `+saColumns+` WHERE sa.issuer = $1 ORDER BY sa.created_at, sa.id`, t.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: service accounts: %w", err)
	}
	sas, err := scanSAs(rows)
	if err != nil {
		return nil, fmt.Errorf("auth: service accounts: %w", err)
	}
	want := projectInPath(r.URL.Path)
	var pick *serviceAccountRow
	for _, sa := range sas {
		if !sa.matches(claims) {
			continue
		}
		if pick == nil || (sa.Project == want && pick.Project != want) {
			pick = sa
		}
	}
	if pick == nil {
		return nil, fmt.Errorf("%w: token from trusted issuer %q (sub %q) matches no service account", ErrInvalidCredentials, t.cfg.Name, idt.Subject)
	}
	// No back door: a service account acts only while the user who made it
	// may still manage the project's service accounts (owner, team owner or
	// admin). Removing or demoting that user, or deleting them, disables
	// the service accounts they made at once.
	if err := s.creatorStillOwns(r.Context(), pick); err != nil {
		return nil, err
	}
	return &identity.Identity{ServiceAccount: &identity.ServiceAccount{
		ID: pick.ID, ProjectID: pick.ProjectID, Project: pick.Project, Issuer: t.cfg.Issuer, Subject: idt.Subject,
		Environments: pick.Environments,
	}}, nil
}

// creatorStillOwns refuses service account sa when its creator no longer
// has owner access to its project.
func (s *Service) creatorStillOwns(ctx context.Context, sa *serviceAccountRow) error {
	if sa.CreatedByID == "" {
		return fmt.Errorf("%w: service account %s has no creator any more (deleted user); recreate it", ErrInvalidCredentials, sa.ID)
	}
	u, err := s.users.userByID(ctx, sa.CreatedByID)
	if errors.Is(err, errNoUser) {
		return fmt.Errorf("%w: the creator of service account %s no longer exists", ErrInvalidCredentials, sa.ID)
	}
	if err != nil {
		return fmt.Errorf("auth: service account creator: %w", err)
	}
	_, err = s.users.project(ctx, u.identity(), sa.Project, store.AccessDelete)
	if errors.Is(err, errNoProject) {
		return fmt.Errorf("%w: %s, who made service account %s, no longer owns project %s; an owner must recreate it",
			ErrInvalidCredentials, u.Name, sa.ID, sa.Project)
	}
	if err != nil {
		var he *httpx.Error
		if errors.As(err, &he) { // project being deleted
			return fmt.Errorf("%w: project %s: %s", ErrInvalidCredentials, sa.Project, he.Message)
		}
		return fmt.Errorf("auth: service account creator: %w", err)
	}
	return nil
}

// projectInPath returns {name} of /api/v1/projects/{name}/..., or "".
func projectInPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/api/v1/projects/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// saProject resolves {name} for a service-account handler: users with
// access a only (creating and deleting service accounts is an owner
// action: the owner user, owners of the owner team, admins); service
// accounts may not manage service accounts.
func (s *Service) saProject(r *http.Request, a store.Access) (string, string, error) {
	id := identity.From(r.Context())
	name := mux.Vars(r)["name"]
	if id.IsServiceAccount() {
		s.log.Warn("service account tried to manage service accounts", "caller", id.Subject(), "project", name)
		return "", "", httpx.NewError(http.StatusForbidden, "service accounts cannot manage service accounts")
	}
	pid, err := s.users.project(r.Context(), id, name, a)
	if errors.Is(err, errNoProject) && a != store.AccessRead {
		// A member who can see the project learns why; others see a missing project.
		if _, rerr := s.users.project(r.Context(), id, name, store.AccessRead); rerr == nil {
			return "", "", httpx.NewError(http.StatusForbidden, fmt.Sprintf("only owners of project '%s' can manage its service accounts", name),
				"Ask an owner of the project (or of its team) to do it.")
		}
	}
	if errors.Is(err, errNoProject) {
		return "", "", httpx.NewError(http.StatusNotFound, fmt.Sprintf("project '%s' not found", name), "Run 'rise project list' to see your projects.")
	}
	if err != nil {
		return "", "", err
	}
	return pid, name, nil
}

// handleCreateSA is POST /api/v1/projects/{name}/service-accounts.
func (s *Service) handleCreateSA(w http.ResponseWriter, r *http.Request) {
	pid, _, err := s.saProject(r, store.AccessDelete)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var req api.CreateServiceAccountRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	iss, err := s.trustedIssuerURL(req.Issuer)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	if err := validateClaims(req.Claims); err != nil {
		httpx.Err(w, r, err)
		return
	}
	envs, err := s.checkSAEnvironments(r.Context(), pid, req.Environments)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	claims, _ := json.Marshal(req.Claims)
	var id string
	err = s.db.QueryRow(r.Context(), `INSERT INTO service_accounts (project_id, issuer, claims, created_by, environments)
		VALUES ($1, $2, $3, NULLIF($4, '')::uuid, $5) RETURNING id::text`, pid, iss, claims, identity.From(r.Context()).UserID, envs).Scan(&id)
	if err != nil {
		httpx.Err(w, r, fmt.Errorf("auth: create service account: %w", err))
		return
	}
	sa, err := s.serviceAccount(r.Context(), pid, id)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	s.log.Info("service account created", "id", id, "project", sa.Project, "issuer", iss, "by", identity.From(r.Context()).Subject())
	httpx.JSON(w, http.StatusCreated, sa.api())
}

// handleListSA is GET /api/v1/projects/{name}/service-accounts.
func (s *Service) handleListSA(w http.ResponseWriter, r *http.Request) {
	pid, _, err := s.saProject(r, store.AccessWrite)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	rows, err := s.db.Query(r.Context(), `SELECT `+saColumns+` WHERE sa.project_id = $1 ORDER BY sa.created_at, sa.id`, pid)
	if err != nil {
		httpx.Err(w, r, fmt.Errorf("auth: list service accounts: %w", err))
		return
	}
	sas, err := scanSAs(rows)
	if err != nil {
		httpx.Err(w, r, fmt.Errorf("auth: list service accounts: %w", err))
		return
	}
	out := api.ServiceAccountList{ServiceAccounts: make([]api.ServiceAccount, 0, len(sas))}
	for _, sa := range sas {
		out.ServiceAccounts = append(out.ServiceAccounts, sa.api())
	}
	httpx.JSON(w, http.StatusOK, out)
}

// handleDeleteSA is DELETE /api/v1/projects/{name}/service-accounts/{id}.
func (s *Service) handleDeleteSA(w http.ResponseWriter, r *http.Request) {
	pid, name, err := s.saProject(r, store.AccessDelete)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	id := mux.Vars(r)["id"]
	tag, err := s.db.Exec(r.Context(), `DELETE FROM service_accounts WHERE project_id = $1 AND id::text = $2`, pid, id)
	if err != nil {
		httpx.Err(w, r, fmt.Errorf("auth: delete service account: %w", err))
		return
	}
	if tag.RowsAffected() == 0 {
		httpx.Err(w, r, httpx.NewError(http.StatusNotFound, fmt.Sprintf("service account '%s' not found in project '%s'", id, name),
			"Run 'rise service-account list "+name+"' to see its service accounts."))
		return
	}
	s.log.Info("service account deleted", "id", id, "project", name, "by", identity.From(r.Context()).Subject())
	w.WriteHeader(http.StatusNoContent)
}

// checkSAEnvironments checks that every environment a new service account
// is limited to exists in its project; it returns them sorted, without
// duplicates.
func (s *Service) checkSAEnvironments(ctx context.Context, pid string, envs []string) ([]string, error) {
	out := slices.Sorted(slices.Values(envs))
	out = slices.Compact(out)
	if len(out) == 0 {
		return []string{}, nil
	}
	have, err := environments.New(s.db).Names(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("auth: service account environments: %w", err)
	}
	for _, e := range out {
		if !slices.Contains(have, e) {
			return nil, httpx.NewError(http.StatusBadRequest, fmt.Sprintf("the project has no environment '%s'", e),
				"Environments: "+strings.Join(have, ", "))
		}
	}
	return out, nil
}

func (s *Service) serviceAccount(ctx context.Context, pid, id string) (*serviceAccountRow, error) {
	rows, err := s.db.Query(ctx, `SELECT `+saColumns+` WHERE sa.project_id = $1 AND sa.id::text = $2`, pid, id)
	if err != nil {
		return nil, fmt.Errorf("auth: service account: %w", err)
	}
	sas, err := scanSAs(rows)
	if err != nil {
		return nil, fmt.Errorf("auth: service account: %w", err)
	}
	if len(sas) != 1 {
		return nil, fmt.Errorf("auth: service account %s vanished", id)
	}
	return sas[0], nil
}

// trustedIssuerURL maps a trusted issuer's URL or config name to its URL.
func (s *Service) trustedIssuerURL(v string) (string, error) {
	var names []string
	for _, t := range s.trusted {
		if v == t.cfg.Issuer || v == t.cfg.Name {
			return t.cfg.Issuer, nil
		}
		names = append(names, t.cfg.Name+" ("+t.cfg.Issuer+")")
	}
	if len(names) == 0 {
		return "", httpx.NewError(http.StatusBadRequest, "this server has no trusted issuers configured",
			"Add a trusted_issuer block to the server's auth configuration.")
	}
	return "", httpx.NewError(http.StatusBadRequest, fmt.Sprintf("issuer %q is not a trusted issuer of this server", v),
		"Trusted issuers: "+strings.Join(names, ", "))
}

// sameForEveryToken are claims every token of an issuer shares (or that
// say nothing about who the token is for): a rule keyed only on them
// would let any token of the issuer act as the service account.
var sameForEveryToken = map[string]bool{"iss": true, "aud": true, "azp": true, "exp": true, "iat": true, "nbf": true, "jti": true}

// validateClaims checks the required claims of a new service account: at
// least one claim other than iss/aud/exp/... must pin a value, i.e. not
// be a pattern that matches any value (such as "*", "*/*" or "?*").
func validateClaims(c map[string]string) error {
	if len(c) == 0 {
		return httpx.NewError(http.StatusBadRequest, "at least one required claim is needed (e.g. project_path or repository)",
			"Without claims any token of the issuer could deploy the project.")
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	constrained := false
	for _, k := range keys {
		v := c[k]
		if k == "" || v == "" {
			return httpx.NewError(http.StatusBadRequest, "claim names and values must not be empty")
		}
		if _, err := path.Match(v, ""); err != nil {
			return httpx.NewError(http.StatusBadRequest, fmt.Sprintf("claim %q: %q is not a valid glob pattern", k, v))
		}
		if !sameForEveryToken[k] && pinsValue(v) {
			constrained = true
		}
	}
	if !constrained {
		return httpx.NewError(http.StatusBadRequest,
			"at least one claim other than iss, aud, exp, iat, nbf, jti or azp must pin a value (not just wildcards such as '*' or '*/*')",
			"Pin the repository or project path, e.g. --claim repository=acme/shop.")
	}
	return nil
}

// pinsValue reports whether glob v has a literal character outside
// wildcards, character classes and '/' separators: "refs/heads/*" does,
// "*", "*/*", "?*" and "[a-z]*" do not.
func pinsValue(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '*', '?', '/':
		case '[':
			j := strings.IndexByte(v[i+1:], ']')
			if j < 0 {
				return true
			}
			i += j + 1
		case '\\':
			return i+1 < len(v)
		default:
			return true
		}
	}
	return false
}
