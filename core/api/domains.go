package api

import "time"

// Domain is a project's custom domain (GET /projects/{name}/domains).
type Domain struct {
	// Domain is the name as stored: lower case, IDNA (punycode) form.
	Domain string `json:"domain"`
	// Unicode is the internationalized form when it differs from Domain.
	Unicode    string     `json:"unicode,omitempty"`
	Verified   bool       `json:"verified"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	Primary    bool       `json:"primary"`
	URL        string     `json:"url"`
	// DNS are the records to create at the domain's DNS provider: the TXT
	// record that proves control, and the CNAME (or A) record that points
	// the domain at rise.
	DNS       []DNSRecord `json:"dns"`
	CreatedAt time.Time   `json:"created_at"`
}

// DNSRecord is one DNS record to create.
type DNSRecord struct {
	Type  string `json:"type"` // TXT, CNAME, A
	Name  string `json:"name"`
	Value string `json:"value"`
	// Note says when the record applies (e.g. "apex domains: A instead of CNAME").
	Note string `json:"note,omitempty"`
}

// DomainList is GET /projects/{name}/domains.
type DomainList struct {
	Domains []Domain `json:"domains"`
}

// AddDomainRequest is the body of POST /projects/{name}/domains.
type AddDomainRequest struct {
	Domain  string `json:"domain"`
	Primary bool   `json:"primary,omitempty"`
}

// UpdateDomainRequest is the body of PATCH /projects/{name}/domains/{domain}.
type UpdateDomainRequest struct {
	Primary *bool `json:"primary,omitempty"`
}
