package certstore_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server/certstore"
	"github.com/riseplatform/rise/server/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), pgtest.URL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func TestStoreLoadListDelete(t *testing.T) {
	ctx := context.Background()
	s := certstore.New(open(t).Pool(), certstore.Options{})
	if _, err := s.Load(ctx, "certificates/a/x.crt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing key: %v, want fs.ErrNotExist", err)
	}
	for _, k := range []string{"certificates/ca/a.example/a.example.crt", "certificates/ca/a.example/a.example.key", "certificates/ca/b.example/b.example.crt", "acme/ca/users/x.json"} {
		if err := s.Store(ctx, k, []byte("v:"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Store(ctx, "acme/ca/users/x.json", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Load(ctx, "acme/ca/users/x.json"); err != nil || string(v) != "v2" {
		t.Fatalf("Load after overwrite = %q, %v", v, err)
	}
	got, err := s.List(ctx, "certificates", false)
	if err != nil || !slices.Equal(got, []string{"certificates/ca"}) {
		t.Fatalf("List(certificates, false) = %v, %v", got, err)
	}
	got, err = s.List(ctx, "certificates/ca", true)
	want := []string{"certificates/ca/a.example", "certificates/ca/a.example/a.example.crt", "certificates/ca/a.example/a.example.key",
		"certificates/ca/b.example", "certificates/ca/b.example/b.example.crt"}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("List(certificates/ca, true) = %v, %v; want %v", got, err, want)
	}
	if info, err := s.Stat(ctx, "certificates/ca/a.example"); err != nil || info.IsTerminal {
		t.Fatalf("Stat(dir) = %+v, %v", info, err)
	}
	if info, err := s.Stat(ctx, "acme/ca/users/x.json"); err != nil || !info.IsTerminal || info.Size != 2 {
		t.Fatalf("Stat(file) = %+v, %v", info, err)
	}
	if !s.Exists(ctx, "certificates/ca") || s.Exists(ctx, "certificates/c") || s.Exists(ctx, "certificates/ca/a") {
		t.Fatal("Exists is wrong for a directory, a missing key or a mere name prefix")
	}
	if err := s.Delete(ctx, "certificates/ca/a.example"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.List(ctx, "certificates/ca", true)
	if !slices.Equal(got, []string{"certificates/ca/b.example", "certificates/ca/b.example/b.example.crt"}) {
		t.Fatalf("after deleting a directory: %v", got)
	}
	if err := s.Delete(ctx, "certificates/none"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
}

// Two replicas (two Storages on one database) exclude each other; a lock
// whose holder vanished without unlocking is taken over when its lease ends.
func TestLocksAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	pool := open(t).Pool()
	a := certstore.New(pool, certstore.Options{Lease: 600 * time.Millisecond, Poll: 20 * time.Millisecond})
	b := certstore.New(pool, certstore.Options{Lease: 600 * time.Millisecond, Poll: 20 * time.Millisecond})
	if err := a.Lock(ctx, "issue_cert_x"); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.TryLock(ctx, "issue_cert_x"); err != nil || ok {
		t.Fatalf("b.TryLock while a holds it = %v, %v", ok, err)
	}
	// a's lease is kept alive while held: b still waits after several leases.
	wctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	err := b.Lock(wctx, "issue_cert_x")
	cancel()
	if err == nil {
		t.Fatal("b took a lock a still holds (lease keeping failed)")
	}
	got := make(chan error, 1)
	go func() { got <- b.Lock(ctx, "issue_cert_x") }()
	time.Sleep(100 * time.Millisecond)
	if err := a.Unlock(ctx, "issue_cert_x"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b did not get the lock after a released it")
	}
	// a crashed holder: its row stays, no one extends it.
	if _, err := pool.Exec(ctx, `INSERT INTO certmagic_locks (key, holder, expires_at) VALUES ('stale', 'gone', now() + interval '300 milliseconds')`); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.TryLock(ctx, "stale"); ok {
		t.Fatal("took a lock whose lease has not ended")
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.Lock(lctx, "stale"); err != nil {
		t.Fatalf("a stale lock was not taken over: %v", err)
	}
	if err := b.Unlock(ctx, "issue_cert_x"); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(ctx, "stale"); err != nil {
		t.Fatal(err)
	}
}
