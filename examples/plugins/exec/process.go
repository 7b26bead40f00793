package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riseplatform/rise/sdk"
)

func statePath(dir string) string { return filepath.Join(dir, "state.json") }
func logPath(dir string) string   { return filepath.Join(dir, "output.log") }
func stopPath(dir string) string  { return filepath.Join(dir, "stopped") }

func readState(dir string) (state, error) {
	var s state
	b, err := os.ReadFile(statePath(dir))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("read %s: %w", statePath(dir), err)
	}
	return s, nil
}

// ensureStarted starts the deployment's process unless it already runs.
// Deploys of one deployment are serialized by a lock file in its directory
// (across plugin processes too): a retried Deploy can overlap a cancelled
// one that the plugin is still executing, and both would otherwise start a
// process, leaving one behind.
func (r *Runtime) ensureStarted(dir string, req *sdk.DeployRequest) (st state, started bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return state{}, false, fmt.Errorf("create %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return state{}, false, fmt.Errorf("open lock: %w", err)
	}
	defer lock.Close() // releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return state{}, false, fmt.Errorf("lock %s: %w", dir, err)
	}
	if st, err := readState(dir); err == nil && alive(st.PID) {
		return st, false, nil
	}
	st, err = r.start(dir, req)
	return st, err == nil, err
}

// start launches the command in its own session, so it outlives this plugin
// process (the host stops idle plugins) and can be stopped as a group.
func (r *Runtime) start(dir string, req *sdk.DeployRequest) (state, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return state{}, fmt.Errorf("create %s: %w", dir, err)
	}
	_ = os.Remove(stopPath(dir))
	port, err := freePort()
	if err != nil {
		return state{}, err
	}
	logf, err := os.OpenFile(logPath(dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return state{}, fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(req.Workload.Command[0], req.Workload.Command[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "RISE_PROJECT="+req.Project, "RISE_DEPLOYMENT="+req.DeploymentID)
	for _, m := range []map[string]string{r.Env, req.Workload.Env, req.Workload.SecretEnv} {
		for k, v := range m {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	if err := cmd.Start(); err != nil {
		return state{}, sdk.Permanent(fmt.Errorf("start %s: %w", req.Workload.Command[0], err))
	}
	go func() { _ = cmd.Wait() }() // reap it while this plugin process lives
	st := state{Dir: dir, PID: cmd.Process.Pid, Port: port}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(statePath(dir), b, 0o644); err != nil {
		_ = terminate(context.Background(), st.PID)
		return state{}, fmt.Errorf("write state: %w", err)
	}
	return st, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no procfs: trust the signal
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// terminate sends SIGTERM to the process group, then SIGKILL after 5s.
func terminate(ctx context.Context, pid int) error {
	if !alive(pid) {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			deadline = time.Now().Add(5 * time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func markStopped(dir string) error {
	if err := os.WriteFile(stopPath(dir), nil, 0o644); err != nil {
		return fmt.Errorf("mark stopped: %w", err)
	}
	return nil
}

func stopped(dir string) bool {
	_, err := os.Stat(stopPath(dir))
	return err == nil
}

// probe checks health once: HTTP GET of path (any status below 400), or a
// TCP connect when no path is set.
func probe(ctx context.Context, port int, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if path == "" {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("port %d: %w", port, err)
		}
		return c.Close()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return sdk.Permanent(fmt.Errorf("health path %q: %w", path, err))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return nil
}

// waitHealthy polls until the process answers, exits, or time runs out.
func waitHealthy(ctx context.Context, st state, path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := probe(ctx, st.Port, path)
		if err == nil {
			return nil
		}
		if !alive(st.PID) {
			return fmt.Errorf("process %d exited before becoming healthy; see %s", st.PID, logPath(st.Dir))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
