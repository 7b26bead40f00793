package docker

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
)

// The host firewall completes the per-project networks. The engine already
// drops traffic between different bridge networks; these rules (iptables,
// filter table) add what it does not:
//
//   - RISE-INPUT (from INPUT, for packets arriving on any project bridge,
//     interface "rise-+"): containers open no new connection to the host
//     itself — none of its addresses, including the bridge gateway, so not
//     rise's server, its database or anything else listening on the host.
//     Replies to connections the host opened (the edge proxying to a
//     published port) pass.
//   - RISE-FORWARD (from DOCKER-USER, or FORWARD when the engine made no
//     DOCKER-USER chain): no new connection to a published port through the
//     host (DNAT), and none to the denied ranges (deny_cidrs; link-local
//     169.254.0.0/16 with cloud metadata services by default). The rest,
//     the internet, passes.
//
// The chains are rewritten atomically on every Provision (iptables-restore
// --noflush rewrites only the chains it declares), so a changed deny_cidrs
// takes effect on restart.
const (
	chainInput   = "RISE-INPUT"
	chainForward = "RISE-FORWARD"
	bridgeMatch  = bridgePrefix + "+"
)

// firewallRules is the iptables-restore input for the rise chains.
func firewallRules(deny []string) string {
	var b strings.Builder
	b.WriteString("*filter\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n:%s - [0:0]\n", chainInput, chainForward)
	fmt.Fprintf(&b, "-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n", chainInput)
	fmt.Fprintf(&b, "-A %s -j DROP\n", chainInput)
	fmt.Fprintf(&b, "-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n", chainForward)
	fmt.Fprintf(&b, "-A %s -m conntrack --ctstate DNAT -j DROP\n", chainForward)
	for _, c := range deny {
		fmt.Fprintf(&b, "-A %s -d %s -j DROP\n", chainForward, c)
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// applyFirewall installs the rules and the jumps to them (idempotent).
func (r *Runtime) applyFirewall(ctx context.Context) error {
	run := func(stdin string, name string, args ...string) error {
		cmd := exec.CommandContext(ctx, name, args...)
		if stdin != "" {
			cmd.Stdin = strings.NewReader(stdin)
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
		}
		return nil
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return fmt.Errorf("firewall = \"iptables\" needs the iptables command on the engine's host: %w", err)
	}
	if err := run(firewallRules(r.DenyCIDRs), "iptables-restore", "-w", "--noflush"); err != nil {
		return err
	}
	forward := "DOCKER-USER"
	if run("", "iptables", "-w", "-S", forward) != nil {
		forward = "FORWARD" // the engine manages no DOCKER-USER chain
	}
	for _, jump := range [][]string{
		{"INPUT", "-i", bridgeMatch, "-j", chainInput},
		{forward, "-i", bridgeMatch, "-j", chainForward},
	} {
		if run("", "iptables", append([]string{"-w", "-C"}, jump...)...) == nil {
			continue
		}
		if err := run("", "iptables", append([]string{"-w", "-I", jump[0], "1"}, jump[1:]...)...); err != nil {
			return err
		}
	}
	return nil
}

// validCIDRs normalises deny_cidrs (IPv4 prefixes: project networks have
// no IPv6).
func validCIDRs(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("deny_cidrs: %q is not an address or CIDR like 169.254.0.0/16", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if !p.Addr().Is4() {
			return nil, fmt.Errorf("deny_cidrs: %q is not IPv4 (project networks have no IPv6)", s)
		}
		out = append(out, p.Masked().String())
	}
	return out, nil
}
