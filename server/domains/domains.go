// Package domains serves a project's custom domains under /api/v1:
//
//	GET    /projects/{name}/domains                   list
//	POST   /projects/{name}/domains                   add {"domain", "primary"}: a claim with a token
//	GET    /projects/{name}/domains/{domain}          show (with the DNS records to create)
//	PATCH  /projects/{name}/domains/{domain}          {"primary": true|false}
//	DELETE /projects/{name}/domains/{domain}          remove: it stops routing at once
//	POST   /projects/{name}/domains/{domain}/verify   check DNS; verified domains route and get certificates
//
// A domain proves control with a TXT record _rise-challenge.<domain> holding
// its token, and points at rise with a CNAME (or A records). Only a verified
// domain routes (the edge's route table learns it through migration 0011's
// notification) and gets a certificate (the TLS manager's on-demand
// decision asks the same table); the deployments controller hears the same
// notification and hands runtimes that take domains (Kubernetes Ingress
// hosts) the new list at once (server/deploy/domainsync.go). Several
// projects may claim a name, one holds it verified. Reading needs read
// access to the project, changing needs write access; another project's
// domains answer exactly like missing ones (404).
package domains

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/internal/web"
	"github.com/riseplatform/rise/server/store"
)

// DefaultLimit is the number of domains a project may have.
const DefaultLimit = 20

// Options configure the service.
type Options struct {
	Store *store.Store
	Rules Rules
	// Checker checks DNS records (NewChecker).
	Checker *Checker
	// Scheme of domain URLs ("https" or "http").
	Scheme string
	// Limit is the most domains (verified or not) per project
	// (default DefaultLimit).
	Limit int
	Log   hclog.Logger
}

// Service is the domains API.
type Service struct{ o Options }

// New returns the service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Checker == nil {
		return nil, errors.New("domains: store and checker are required")
	}
	if o.Limit <= 0 {
		o.Limit = DefaultLimit
	}
	if o.Scheme == "" {
		o.Scheme = "https"
	}
	if o.Log == nil {
		o.Log = hclog.NewNullLogger()
	}
	return &Service{o: o}, nil
}

// Routes mounts the API on /api/v1.
func (s *Service) Routes(r *mux.Router) {
	r.HandleFunc("/projects/{name}/domains", s.list).Methods(http.MethodGet)
	r.HandleFunc("/projects/{name}/domains", s.add).Methods(http.MethodPost)
	r.HandleFunc("/projects/{name}/domains/{domain}", s.show).Methods(http.MethodGet)
	r.HandleFunc("/projects/{name}/domains/{domain}", s.update).Methods(http.MethodPatch)
	r.HandleFunc("/projects/{name}/domains/{domain}", s.remove).Methods(http.MethodDelete)
	r.HandleFunc("/projects/{name}/domains/{domain}/verify", s.verify).Methods(http.MethodPost)
}

// row is a row of domains.
type row struct {
	domain, token string
	primary       bool
	verifiedAt    *time.Time
	createdAt     time.Time
}

const cols = `domain, token, is_primary, verified_at, created_at`

func scan(r pgx.Row) (*row, error) {
	var d row
	if err := r.Scan(&d.domain, &d.token, &d.primary, &d.verifiedAt, &d.createdAt); err != nil {
		return nil, err
	}
	return &d, nil
}

func (s *Service) toAPI(d *row) api.Domain {
	_, uni, _ := Normalize(d.domain, Rules{})
	out := api.Domain{Domain: d.domain, Unicode: uni, Verified: d.verifiedAt != nil, VerifiedAt: d.verifiedAt,
		Primary: d.primary, URL: s.o.Scheme + "://" + d.domain, CreatedAt: d.createdAt}
	out.DNS = append(out.DNS, api.DNSRecord{Type: "TXT", Name: ChallengePrefix + d.domain, Value: d.token,
		Note: "proves you control the domain; keep it while the domain is in use"})
	if c := s.o.Checker; c.Target != "" {
		out.DNS = append(out.DNS, api.DNSRecord{Type: "CNAME", Name: d.domain, Value: c.Target, Note: "points the domain at rise (subdomains)"})
	}
	for _, a := range s.o.Checker.Addresses {
		typ := "A"
		if strings.Contains(a, ":") {
			typ = "AAAA"
		}
		out.DNS = append(out.DNS, api.DNSRecord{Type: typ, Name: d.domain, Value: a, Note: "points the domain at rise (apex domains, instead of CNAME)"})
	}
	return out
}

// project returns the project the request names if the caller has access
// a, or the API error (404 for projects the caller may not see).
func (s *Service) project(r *http.Request, a store.Access) (*store.Project, error) {
	p, _, err := web.Project(r, s.o.Store, "name", a)
	return p, err
}

// domainVar is the {domain} of the path, normalized like a stored name.
func (s *Service) domainVar(r *http.Request, p *store.Project) (string, error) {
	raw := mux.Vars(r)["domain"]
	d, _, err := Normalize(raw, Rules{})
	if err != nil {
		return "", notFound(raw, p.Name)
	}
	return d, nil
}

// domain returns the request's project (access a) and its {domain}.
func (s *Service) domain(r *http.Request, a store.Access) (*store.Project, *row, error) {
	p, err := s.project(r, a)
	if err != nil {
		return nil, nil, err
	}
	name, err := s.domainVar(r, p)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.get(r.Context(), p.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, notFound(name, p.Name)
	}
	return p, d, err
}

func notFound(domain, project string) error {
	return httpx.Errorf(http.StatusNotFound, "Domain '%s' not found in project '%s'.", domain, project)
}

func (s *Service) get(ctx context.Context, projectID, domain string) (*row, error) {
	d, err := scan(s.o.Store.Pool().QueryRow(ctx, `SELECT `+cols+` FROM domains WHERE project_id = $1 AND domain = $2`, projectID, domain))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("domains: get %s: %w", domain, err)
	}
	return d, nil
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	p, err := s.project(r, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	rows, err := s.o.Store.Pool().Query(r.Context(), `SELECT `+cols+` FROM domains WHERE project_id = $1 ORDER BY domain`, p.ID)
	if err != nil {
		httpx.Err(w, r, fmt.Errorf("domains: list: %w", err))
		return
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*row, error) { return scan(r) })
	if err != nil {
		httpx.Err(w, r, fmt.Errorf("domains: list: %w", err))
		return
	}
	out := api.DomainList{Domains: []api.Domain{}}
	for _, d := range ds {
		out.Domains = append(out.Domains, s.toAPI(d))
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (s *Service) show(w http.ResponseWriter, r *http.Request) {
	_, d, err := s.domain(r, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, s.toAPI(d))
}

func (s *Service) add(w http.ResponseWriter, r *http.Request) {
	p, err := s.project(r, store.AccessWrite)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var req api.AddDomainRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	name, _, err := Normalize(req.Domain, s.o.Rules)
	if err != nil {
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, err.Error()))
		return
	}
	token := "rise-verify-" + randomToken()
	var d *row
	err = pgx.BeginTxFunc(r.Context(), s.o.Store.Pool(), pgx.TxOptions{}, func(tx pgx.Tx) error {
		// Serialize adds per project so the limit holds under concurrency.
		if _, err := tx.Exec(r.Context(), `SELECT 1 FROM projects WHERE id = $1 FOR UPDATE`, p.ID); err != nil {
			return err
		}
		var n int
		var taken bool
		if err := tx.QueryRow(r.Context(), `SELECT
				(SELECT count(*) FROM domains WHERE project_id = $1),
				EXISTS (SELECT 1 FROM domains WHERE domain = $2 AND verified_at IS NOT NULL AND project_id <> $1)`,
			p.ID, name).Scan(&n, &taken); err != nil {
			return err
		}
		if taken {
			return httpx.Errorf(http.StatusConflict, "Domain '%s' is already in use by another project.", name)
		}
		if n >= s.o.Limit {
			return httpx.NewError(http.StatusUnprocessableEntity,
				fmt.Sprintf("Project '%s' already has %d domains, the limit.", p.Name, s.o.Limit),
				"Remove one with 'rise domain remove "+p.Name+" DOMAIN'.")
		}
		if req.Primary {
			if _, err := tx.Exec(r.Context(), `UPDATE domains SET is_primary = false WHERE project_id = $1 AND is_primary`, p.ID); err != nil {
				return err
			}
		}
		var err error
		d, err = scan(tx.QueryRow(r.Context(), `INSERT INTO domains (project_id, domain, token, is_primary) VALUES ($1, $2, $3, $4)
			RETURNING `+cols, p.ID, name, token, req.Primary))
		return err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		err = httpx.Errorf(http.StatusConflict, "Domain '%s' is already added to project '%s'.", name, p.Name)
	}
	if err != nil {
		httpx.Err(w, r, wrap("add", name, err))
		return
	}
	s.o.Log.Info("domain added", "project", p.Name, "domain", name)
	w.Header().Set("Location", "/api/v1/projects/"+p.Name+"/domains/"+name)
	httpx.JSON(w, http.StatusCreated, s.toAPI(d))
}

func (s *Service) update(w http.ResponseWriter, r *http.Request) {
	p, err := s.project(r, store.AccessWrite)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name, err := s.domainVar(r, p)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var req api.UpdateDomainRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		httpx.Err(w, r, err)
		return
	}
	var d *row
	err = pgx.BeginTxFunc(r.Context(), s.o.Store.Pool(), pgx.TxOptions{}, func(tx pgx.Tx) error {
		if req.Primary != nil && *req.Primary {
			if _, err := tx.Exec(r.Context(), `UPDATE domains SET is_primary = false WHERE project_id = $1 AND is_primary AND domain <> $2`, p.ID, name); err != nil {
				return err
			}
		}
		var err error
		d, err = scan(tx.QueryRow(r.Context(), `UPDATE domains SET is_primary = COALESCE($3, is_primary)
			WHERE project_id = $1 AND domain = $2 RETURNING `+cols, p.ID, name, req.Primary))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(name, p.Name)
		}
		return err
	})
	if err != nil {
		httpx.Err(w, r, wrap("update", name, err))
		return
	}
	httpx.JSON(w, http.StatusOK, s.toAPI(d))
}

func (s *Service) remove(w http.ResponseWriter, r *http.Request) {
	p, err := s.project(r, store.AccessWrite)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name, err := s.domainVar(r, p)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	tag, err := s.o.Store.Pool().Exec(r.Context(), `DELETE FROM domains WHERE project_id = $1 AND domain = $2`, p.ID, name)
	if err != nil {
		httpx.Err(w, r, wrap("remove", name, err))
		return
	}
	if tag.RowsAffected() == 0 {
		httpx.Err(w, r, notFound(name, p.Name))
		return
	}
	s.o.Log.Info("domain removed", "project", p.Name, "domain", name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) verify(w http.ResponseWriter, r *http.Request) {
	p, d, err := s.domain(r, store.AccessWrite)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	name := d.domain
	var ve *VerifyError
	if err := s.o.Checker.Check(r.Context(), name, d.token); errors.As(err, &ve) {
		httpx.Err(w, r, httpx.NewError(http.StatusUnprocessableEntity, ve.Msg,
			fmt.Sprintf("Create: TXT %s%s = %q", ChallengePrefix, name, d.token), "Then run 'rise domain verify "+p.Name+" "+name+"' again."))
		return
	} else if err != nil {
		httpx.Err(w, r, httpx.NewError(http.StatusBadGateway, "The DNS check could not run: "+err.Error()))
		return
	}
	d, err = scan(s.o.Store.Pool().QueryRow(r.Context(), `UPDATE domains SET verified_at = COALESCE(verified_at, now())
		WHERE project_id = $1 AND domain = $2 RETURNING `+cols, p.ID, name))
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "23505":
		err = httpx.Errorf(http.StatusConflict, "Domain '%s' is already in use by another project.", name)
	case errors.Is(err, pgx.ErrNoRows):
		err = notFound(name, p.Name) // removed meanwhile
	}
	if err != nil {
		httpx.Err(w, r, wrap("verify", name, err))
		return
	}
	s.o.Log.Info("domain verified", "project", p.Name, "domain", name)
	httpx.JSON(w, http.StatusOK, s.toAPI(d))
}

// wrap adds context to internal errors; API errors pass unchanged.
func wrap(op, domain string, err error) error {
	var he *httpx.Error
	if errors.As(err, &he) {
		return err
	}
	return fmt.Errorf("domains: %s %s: %w", op, domain, err)
}

func randomToken() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Verified returns project id's verified domains, sorted (for the runtime:
// deploy.Options.Domains).
func (s *Service) Verified(ctx context.Context, projectID string) ([]string, error) {
	rows, err := s.o.Store.Pool().Query(ctx, `SELECT domain FROM domains WHERE project_id = $1 AND verified_at IS NOT NULL ORDER BY domain`, projectID)
	if err != nil {
		return nil, fmt.Errorf("domains: verified domains: %w", err)
	}
	ds, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("domains: verified domains: %w", err)
	}
	return ds, nil
}
