package docker

import (
	"fmt"
	"slices"
	"strings"
)

// defaultCaps are the capabilities containers keep (all others are
// dropped): what an ordinary web server and its entrypoint script need when
// the image runs as root — bind ports below 1024 (NET_BIND_SERVICE), switch
// to an unprivileged worker user (SETUID, SETGID), fix ownership and read
// files of that user in its data directories (CHOWN, DAC_OVERRIDE, FOWNER),
// and signal workers running as that user (KILL; nginx's master does).
// Dropped from Docker's default set: NET_RAW (raw sockets: ARP and ICMP
// spoofing on the network), MKNOD, SETFCAP, SETPCAP, FSETID, SYS_CHROOT and
// AUDIT_WRITE. Images running as a non-root user need none of them.
var defaultCaps = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"}

// knownCaps are the Linux capabilities (capabilities(7)), without "CAP_".
var knownCaps = []string{
	"AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE", "CHOWN",
	"DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE",
	"LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN",
	"SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO",
	"SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
}

// capabilities normalises cap_add (upper case, no "CAP_" prefix); nil
// means defaultCaps, an empty list none at all.
func capabilities(in []string) ([]string, error) {
	if in == nil {
		return slices.Clone(defaultCaps), nil
	}
	out := make([]string, 0, len(in))
	for _, c := range in {
		n := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
		if n == "ALL" {
			return nil, fmt.Errorf("cap_add: \"ALL\" would undo dropping capabilities; list the ones the apps need")
		}
		if !slices.Contains(knownCaps, n) {
			return nil, fmt.Errorf("cap_add: %q is not a Linux capability (like NET_BIND_SERVICE)", c)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}
