package edge

import (
	"context"
	"fmt"
	"maps"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Custom domains: the table also holds every verified domain (migration
// 0011) and the project it belongs to, so a request for a custom domain is
// routed from memory like <project>.<domain>, and a removed or moved domain
// stops routing as soon as its "d:<project uuid>" notification arrives.

// domainMap is an immutable map of verified domain (lower-case IDNA form)
// to project id.
type domainMap map[string]string

// DomainProject returns the project a verified custom domain belongs to
// (Options.Domains). host may carry a port.
func (t *Table) DomainProject(host string) (string, bool) {
	m := t.domains.Load()
	if m == nil {
		return "", false
	}
	id, ok := (*m)[normalHost(host)]
	if !ok {
		return "", false
	}
	e := t.snap.Load().byID[id]
	if e == nil || e.deleting {
		return "", false
	}
	return e.route.Project, true
}

// IsDomain reports whether host is a verified custom domain that routes.
func (t *Table) IsDomain(host string) bool {
	_, ok := t.DomainProject(host)
	return ok
}

func normalHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// loadDomains replaces the verified domains of project id ("" for all)
// with the database's.
func (t *Table) loadDomains(ctx context.Context, q querier, id string) error {
	sql := `SELECT domain, project_id::text FROM domains WHERE verified_at IS NOT NULL`
	var args []any
	next := domainMap{}
	if id != "" {
		sql += ` AND project_id = $1::uuid`
		args = append(args, id)
		if old := t.domains.Load(); old != nil {
			next = maps.Clone(*old)
		}
		maps.DeleteFunc(next, func(_, pid string) bool { return pid == id })
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("edge: load domains: %w", err)
	}
	var d, pid string
	if _, err := pgx.ForEachRow(rows, []any{&d, &pid}, func() error { next[d] = pid; return nil }); err != nil {
		return fmt.Errorf("edge: load domains: %w", err)
	}
	t.domains.Store(&next)
	return nil
}

// reloadDomains refreshes one project's domains (a "d:" notification).
func (t *Table) reloadDomains(ctx context.Context, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.loadDomains(ctx, t.pool, id)
}

// customDomain is Project's answer for hosts outside the apps domain.
func (h *Handler) customDomain(host string) (string, bool) {
	if h.o.Domains == nil {
		return "", false
	}
	return h.o.Domains(host)
}

// CertificateAllowed is the TLS manager's on-demand decision
// (edgetls.Options.Allow): a certificate may be obtained only for rise's
// own host, the app host of an existing project, or a verified custom
// domain, so nobody can make rise request certificates for other names.
func (h *Handler) CertificateAllowed(ctx context.Context, name string) error {
	name = normalHost(name)
	if name != "" && name == h.own {
		return nil
	}
	project, ok := h.Project(name)
	if !ok {
		return fmt.Errorf("%s is neither rise's host, an app host nor a verified custom domain", name)
	}
	if _, err := h.o.Lookup(ctx, project); err != nil {
		return fmt.Errorf("%s: project %s: %w", name, project, err)
	}
	return nil
}
