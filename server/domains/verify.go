package domains

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// ChallengePrefix is the label of the TXT record that proves control of a
// domain: _rise-challenge.<domain> must hold the domain's token.
const ChallengePrefix = "_rise-challenge."

// Checker checks a domain's DNS records.
type Checker struct {
	res *net.Resolver
	// Target is the host name custom domains point at with a CNAME.
	Target string
	// Addresses are the edge's public addresses, for A/AAAA records
	// (apex domains cannot have a CNAME).
	Addresses []string
}

// NewChecker resolves through resolver ("host:port"), or the system's
// resolver when empty.
func NewChecker(resolver, target string, addresses []string) *Checker {
	c := &Checker{res: net.DefaultResolver, Target: hostOnly(target), Addresses: addresses}
	if resolver != "" {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c.res = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, resolver)
		}}
	}
	return c
}

// VerifyError is a failed DNS check; the message says which record is
// missing or wrong.
type VerifyError struct{ Msg string }

func (e *VerifyError) Error() string { return e.Msg }

// Check verifies that domain's challenge TXT record holds token and that
// the domain points at rise (a CNAME to Target, or an address among
// Addresses or Target's).
func (c *Checker) Check(ctx context.Context, domain, token string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	txts, err := c.res.LookupTXT(ctx, ChallengePrefix+domain)
	if err != nil && !dnsNotFound(err) {
		return fmt.Errorf("domains: look up TXT %s%s: %w", ChallengePrefix, domain, err)
	}
	if !slices.Contains(txts, token) {
		return &VerifyError{Msg: fmt.Sprintf("The TXT record %s%s does not hold this domain's token (found %d TXT value(s)); DNS changes can take a few minutes to appear.", ChallengePrefix, domain, len(txts))}
	}
	if c.Target == "" && len(c.Addresses) == 0 {
		return nil
	}
	if c.Target != "" {
		if cname, err := c.res.LookupCNAME(ctx, domain); err == nil && hostOnly(cname) == c.Target {
			return nil
		}
	}
	want := slices.Clone(c.Addresses)
	if c.Target != "" {
		if addrs, err := c.res.LookupHost(ctx, c.Target); err == nil {
			want = append(want, addrs...)
		}
	}
	have, err := c.res.LookupHost(ctx, domain)
	if err != nil && !dnsNotFound(err) {
		return fmt.Errorf("domains: look up %s: %w", domain, err)
	}
	for _, a := range have {
		if slices.Contains(want, a) {
			return nil
		}
	}
	return &VerifyError{Msg: fmt.Sprintf("%s does not point at rise: create a CNAME record to %s (or A records to %s); it resolves to [%s].",
		domain, orNone(c.Target), orNone(strings.Join(c.Addresses, ", ")), strings.Join(have, ", "))}
}

func orNone(s string) string {
	if s == "" {
		return "(not configured)"
	}
	return s
}

// dnsNotFound: the answer says the record does not exist (NXDOMAIN, no
// data, or a server that answers without data); timeouts and temporary
// failures are not answers.
func dnsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && !de.IsTimeout && !de.IsTemporary
}
