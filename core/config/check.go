package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/riseplatform/rise/core/names"
)

// checker collects diagnostics.
type checker struct{ diags hcl.Diagnostics }

func (c *checker) errorf(rng hcl.Range, summary, format string, args ...any) {
	r := rng
	c.diags = append(c.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r,
	})
}

func (c *checker) warnf(rng hcl.Range, summary, format string, args ...any) {
	r := rng
	c.diags = append(c.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r,
	})
}

// node is a place in the syntax tree, for pointing diagnostics at the
// source of a decoded value.
type node struct {
	body *hclsyntax.Body // nil when the block is absent (defaults)
	rng  hcl.Range       // the block's label (or definition) range, or where it is missing
}

func newNode(body hcl.Body) node {
	sb, _ := body.(*hclsyntax.Body)
	return node{body: sb, rng: body.MissingItemRange()}
}

// attr is the range of attribute name's value, or n's range when the
// attribute is absent.
func (n node) attr(name string) hcl.Range {
	if n.body != nil {
		if a, ok := n.body.Attributes[name]; ok {
			return a.Expr.Range()
		}
	}
	return n.rng
}

// block is the i-th block of type typ (gohcl decodes blocks in source
// order), or n itself when there is no such block.
func (n node) block(typ string, i int) node {
	if n.body == nil {
		return node{rng: n.rng}
	}
	for _, b := range n.body.Blocks {
		if b.Type != typ {
			continue
		}
		if i > 0 {
			i--
			continue
		}
		r := b.DefRange()
		if len(b.LabelRanges) > 0 {
			r = b.LabelRanges[0]
		}
		return node{body: b.Body, rng: r}
	}
	return node{rng: n.body.MissingItemRange()}
}

var (
	bcryptRE     = regexp.MustCompile(`^\$2[aby]?\$[0-9]{2}\$[./A-Za-z0-9]{53}$`)
	sha256RE     = regexp.MustCompile(`^(sha256:)?[0-9a-fA-F]{64}$`)
	pluginNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	envNameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// checkURL returns why s is not an absolute URL with one of schemes, or "".
func checkURL(s string, schemes ...string) string {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("%q is not a URL: %v", s, err)
	}
	ok := false
	for _, sc := range schemes {
		ok = ok || u.Scheme == sc
	}
	switch {
	case !ok:
		return fmt.Sprintf("%q must start with %s://", s, strings.Join(schemes, ":// or "))
	case u.Host == "":
		return fmt.Sprintf("%q has no host", s)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("%q must not have a query or fragment", s)
	}
	return ""
}

// checkListen returns why s is not a host:port listen address, or "".
func checkListen(s string) string {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf("%q is not a host:port address (%v); for example \"127.0.0.1:3000\" or \":3000\"", s, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Sprintf("%q: the port must be a number from 0 to 65535", s)
	}
	return ""
}

// checkDomain returns why s is not a DNS domain name apps can be served
// under, or "". A port may follow ("localhost:3000") for set-ups where apps
// are reached on rise's own non-standard port.
func checkDomain(s string) string {
	if host, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%q has an invalid port %q", s, port)
		}
		s = host
	}
	if s == "" || len(s) > 253 {
		return fmt.Sprintf("%q must be a DNS name of 1 to 253 characters", s)
	}
	for _, l := range strings.Split(s, ".") {
		if !names.IsLabel(l) {
			return fmt.Sprintf("%q is not a DNS name: label %q must be 1-63 lowercase letters, digits or '-', not starting or ending with '-'", s, l)
		}
	}
	return ""
}

// checkEmail returns why s is not a bare email address, or "".
func checkEmail(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return fmt.Sprintf("%q is not an email address like \"admin@example.com\"", s)
	}
	return ""
}

// resolvePath expands a leading ~ and makes p relative to the directory of
// the config file.
func resolvePath(p, configFile string) string {
	if p == "" {
		return ""
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(configFile), p)
	}
	return filepath.Clean(p)
}
