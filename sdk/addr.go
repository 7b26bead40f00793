package sdk

import (
	"fmt"
	"net"
)

func parseAddr(network, s string) (net.Addr, error) {
	switch network {
	case "unix":
		return net.ResolveUnixAddr("unix", s)
	case "tcp":
		return net.ResolveTCPAddr("tcp", s)
	default:
		return nil, fmt.Errorf("unknown address network %q", network)
	}
}
