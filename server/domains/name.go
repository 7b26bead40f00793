package domains

import (
	"fmt"
	"net"
	"strings"

	"golang.org/x/net/idna"
)

// profile normalizes names as a browser looks them up (UTS #46 mapping,
// lower case), checks DNS label and name lengths and allows only letters,
// digits and hyphens (no underscores, no wildcards).
var profile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true), idna.StrictDomainName(true), idna.Transitional(false))

// Rules are what Normalize refuses besides malformed names.
type Rules struct {
	AppsDomain string // apps are <project>.<AppsDomain>: neither it nor its subdomains
	OwnHost    string // rise's own host name
}

// NameError is a domain name rise refuses; the message says why.
type NameError struct{ Msg string }

func (e *NameError) Error() string { return e.Msg }

func refuse(format string, args ...any) error { return &NameError{Msg: fmt.Sprintf(format, args...)} }

// Normalize returns the lower-case IDNA (punycode) form of a custom domain
// name, and its Unicode form, or a *NameError saying why rise cannot serve
// it: wildcards, IP addresses, single labels, the apps domain and its
// subdomains, and rise's own host are refused.
func Normalize(raw string, r Rules) (ascii, unicode string, err error) {
	name := strings.TrimSuffix(strings.TrimSpace(raw), ".")
	switch {
	case name == "":
		return "", "", refuse("A domain name is required, e.g. www.example.com.")
	case strings.Contains(name, "*"):
		return "", "", refuse("Wildcard domains (%s) are not supported: add each name separately, e.g. www.example.com.", raw)
	case strings.Contains(name, "://") || strings.ContainsAny(name, "/:@"):
		return "", "", refuse("%q is not a domain name: give the host name only, e.g. www.example.com.", raw)
	case net.ParseIP(name) != nil:
		return "", "", refuse("%s is an IP address, not a domain name.", name)
	}
	ascii, err = profile.ToASCII(name)
	if err != nil {
		return "", "", refuse("%q is not a valid domain name: %v.", raw, err)
	}
	if !strings.Contains(ascii, ".") {
		return "", "", refuse("%q is a single label; a custom domain needs at least two, e.g. example.com.", raw)
	}
	if apps := hostOnly(r.AppsDomain); apps != "" && (ascii == apps || strings.HasSuffix(ascii, "."+apps)) {
		return "", "", refuse("%s is in rise's apps domain %s, whose names rise assigns itself.", ascii, apps)
	}
	if own := hostOnly(r.OwnHost); own != "" && ascii == own {
		return "", "", refuse("%s is rise's own host name.", ascii)
	}
	unicode, err = idna.ToUnicode(ascii)
	if err != nil || unicode == ascii {
		unicode = ""
	}
	return ascii, unicode, nil
}

// hostOnly lower-cases a host and drops a port and trailing dot.
func hostOnly(h string) string {
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	return strings.TrimSuffix(strings.ToLower(strings.TrimPrefix(h, ".")), ".")
}
