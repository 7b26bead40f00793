package api

import (
	"context"
	"net/http"
)

func domainsPath(project string) string { return "/projects/" + PathEscape(project) + "/domains" }

// AddDomain adds a custom domain to a project (POST /projects/{name}/domains).
func (c *Client) AddDomain(ctx context.Context, project string, req AddDomainRequest) (*Domain, error) {
	var d Domain
	if err := c.Do(ctx, http.MethodPost, domainsPath(project), req, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ListDomains returns a project's custom domains (GET /projects/{name}/domains).
func (c *Client) ListDomains(ctx context.Context, project string) (*DomainList, error) {
	var l DomainList
	if err := c.Do(ctx, http.MethodGet, domainsPath(project), nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// VerifyDomain checks a domain's DNS records and marks it verified
// (POST /projects/{name}/domains/{domain}/verify).
func (c *Client) VerifyDomain(ctx context.Context, project, domain string) (*Domain, error) {
	var d Domain
	if err := c.Do(ctx, http.MethodPost, domainsPath(project)+"/"+PathEscape(domain)+"/verify", nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// UpdateDomain changes a domain (PATCH /projects/{name}/domains/{domain}).
func (c *Client) UpdateDomain(ctx context.Context, project, domain string, req UpdateDomainRequest) (*Domain, error) {
	var d Domain
	if err := c.Do(ctx, http.MethodPatch, domainsPath(project)+"/"+PathEscape(domain), req, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// RemoveDomain removes a domain from a project; it stops routing at once
// (DELETE /projects/{name}/domains/{domain}).
func (c *Client) RemoveDomain(ctx context.Context, project, domain string) error {
	return c.Do(ctx, http.MethodDelete, domainsPath(project)+"/"+PathEscape(domain), nil, nil)
}
