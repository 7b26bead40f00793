// Package pgtest gives tests a real PostgreSQL: one throwaway cluster per test
// binary on a loopback port (started on first use), and a fresh database per
// call to URL.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) { url := pgtest.URL(t) ... }
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/dev/devnet"
	"github.com/riseplatform/rise/dev/realpart"
)

// Cluster is a running PostgreSQL server owned by this process.
type Cluster struct {
	Dir  string // data and socket directory
	Port int
	bin  string
	cred *syscall.Credential
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

var (
	once    sync.Once
	shared  *Cluster
	initErr error
)

// Main runs the tests and stops the shared cluster afterwards.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// URL returns the URL of a new, empty database on the shared cluster. When
// PostgreSQL cannot start on this machine the test fails under
// RISE_REQUIRE_REAL=1 and is skipped otherwise (see dev/realpart).
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { shared, initErr = Start() })
	if initErr != nil {
		realpart.Missing(t, "PostgreSQL", fmt.Errorf("could not start (install it with `make deps`, i.e. apt-get install postgresql): %w", initErr))
	}
	u, err := shared.CreateDatabase(context.Background())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// Own starts a cluster for this test alone (for tests that Halt it), stopped
// when the test ends. Like URL, it skips when PostgreSQL cannot start.
func Own(t testing.TB) *Cluster {
	t.Helper()
	c, err := Start()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pgtest: PostgreSQL is required in CI but could not start: %v", err)
		}
		t.Skipf("\n\n*** SKIPPING: PostgreSQL could not start: %v\n", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// Start initialises and starts a new cluster in a temporary directory.
func Start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rise-pg-")
	if err != nil {
		return nil, fmt.Errorf("make data dir: %w", err)
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("chown data dir: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	port, err := devnet.FreePort()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Port: port, bin: bin, cred: cred, log: filepath.Join(dir, "postgres.log")}
	if err := c.run(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// run starts the postgres server on the cluster's data and port and waits
// until it accepts connections.
func (c *Cluster) run() error {
	logf, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	c.done = make(chan struct{})
	c.cmd = exec.Command(filepath.Join(c.bin, "postgres"), "-D", filepath.Join(c.Dir, "data"),
		"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(c.Port), "-k", c.Dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB")
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	// The server dies with us: no orphaned postgres after a crashed test binary.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	cmd, done := c.cmd, c.done
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	return c.waitReady(30 * time.Second)
}

// Halt stops the server (fast shutdown: clients are disconnected) and keeps
// its data, to simulate a database outage; Resume starts it again on the
// same port. Use a cluster of your own (Start), not the shared one.
func (c *Cluster) Halt() {
	c.halt(syscall.SIGINT)
}

// Resume starts a halted cluster again and waits until it accepts
// connections.
func (c *Cluster) Resume() error {
	select {
	case <-c.done:
	default:
		return errors.New("pgtest: cluster is running")
	}
	return c.run()
}

func (c *Cluster) halt(sig syscall.Signal) {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// AdminURL is the URL of the cluster's postgres database as superuser.
func (c *Cluster) AdminURL() string { return c.DatabaseURL("postgres") }

// DatabaseURL is the URL of database name on the cluster.
func (c *Cluster) DatabaseURL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, name)
}

// CreateDatabase creates a new empty database and returns its URL.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	conn, err := pgx.Connect(ctx, c.AdminURL())
	if err != nil {
		return "", fmt.Errorf("connect to test cluster: %w", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return c.DatabaseURL(name), nil
}

// Stop shuts the cluster down and removes its files.
func (c *Cluster) Stop() {
	c.halt(syscall.SIGQUIT)
	_ = os.RemoveAll(c.Dir)
}

func (c *Cluster) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.AdminURL())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-c.done:
			log, _ := os.ReadFile(c.log)
			return fmt.Errorf("postgres exited during start-up:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(c.log)
			return fmt.Errorf("postgres not ready after %s: %v\n%s", timeout, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// binDir finds the directory holding initdb and postgres.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil // the newest version
	}
	return "", errors.New("initdb/postgres not found on PATH or in /usr/lib/postgresql/*/bin")
}

// credential returns the unprivileged user to run PostgreSQL as when we are
// root (PostgreSQL refuses to run as root), or nil otherwise.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and no 'postgres' user to run PostgreSQL as (apt-get install postgresql creates it): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
