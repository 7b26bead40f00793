package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// leakedProcesses finds the processes re-parented to testrun (the subreaper)
// after the test command exited: each was started by a test and outlived it.
// Processes get a grace period to finish exiting (a server told to stop by
// its test binary's exit); those still there are reported and killed, and
// the zombies are reaped.
func leakedProcesses(grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		reap()
		found, pids := children()
		if len(pids) == 0 || time.Now().After(deadline) {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			if len(pids) > 0 {
				time.Sleep(100 * time.Millisecond)
				reap()
			}
			return found
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// reap collects the exit status of every exited child.
func reap() {
	for {
		pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
		if err != nil || pid <= 0 {
			return
		}
	}
}

// reapOrphans reaps exited children of this process other than keep (the
// test command, which exec.Cmd waits for) every 100ms until stop closes.
func reapOrphans(keep int, stop <-chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for _, pid := range zombies() {
			if pid != keep {
				_, _ = syscall.Wait4(pid, nil, syscall.WNOHANG, nil)
			}
		}
	}
}

// zombies lists the exited, not yet reaped children of this process.
func zombies() []int {
	var pids []int
	forChildren(func(pid int, state string) {
		if state == "Z" {
			pids = append(pids, pid)
		}
	})
	return pids
}

// forChildren calls f with the pid and state of every child of this process.
func forChildren(f func(pid int, state string)) {
	self := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(stat)
		fs := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fs) >= 2 && fs[1] == self {
			f(pid, fs[0])
		}
	}
}

// children lists the live (non-zombie) children of this process.
func children() (found []string, pids []int) {
	forChildren(func(pid int, state string) {
		if state == "Z" {
			return
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		args := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		if len(args) > 160 {
			args = args[:157] + "..."
		}
		found = append(found, fmt.Sprintf("process %d: %s", pid, args))
		pids = append(pids, pid)
	})
	return found, pids
}

// objects are rise's Docker objects: "kind id" → description.
type objects map[string]string

// dockerObjects lists the containers, networks and volumes that carry a
// "rise." label or a "rise-" name. Without a Docker Engine there are none.
func dockerObjects() objects {
	o := objects{}
	if exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run() != nil {
		return o
	}
	list := func(kind string, args ...string) {
		out, err := exec.Command("docker", args...).Output()
		if err != nil {
			o[kind+" listing"] = fmt.Sprintf("docker %s: %v", strings.Join(args, " "), err)
			return
		}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.SplitN(l, "\t", 4)
			if len(f) < 3 {
				continue
			}
			id, name, labels := f[0], f[1], f[2]
			if !strings.HasPrefix(name, "rise-") && !strings.HasPrefix(labels, "rise.") && !strings.Contains(labels, ",rise.") {
				continue
			}
			desc := fmt.Sprintf("%s %s (%s)", kind, name, id)
			if len(f) == 4 && f[3] != "" {
				desc += " " + f[3]
			}
			o[kind+" "+id] = desc
		}
	}
	list("container", "ps", "-a", "--no-trunc", "--format", "{{.ID}}\t{{.Names}}\t{{.Labels}}\t{{.Status}}")
	list("network", "network", "ls", "--no-trunc", "--format", "{{.ID}}\t{{.Name}}\t{{.Labels}}")
	list("volume", "volume", "ls", "--format", "{{.Name}}\t{{.Name}}\t{{.Labels}}")
	return o
}

// newSince describes the objects that were not there before.
func (o objects) newSince(before objects) []string {
	var out []string
	for k, d := range o {
		if _, ok := before[k]; !ok {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}
