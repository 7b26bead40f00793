package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riseplatform/rise/server/store"
)

func TestIsUnavailable(t *testing.T) {
	// A real refused connection: nothing listens on a port we just closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, refused := pgx.Connect(ctx, "postgres://u@"+addr+"/db?sslmode=disable")
	if refused == nil {
		t.Fatal("connect to a closed port succeeded")
	}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{refused, true},
		{fmt.Errorf("list deployments: %w", refused), true},
		{&pgconn.PgError{Code: "57P01"}, true}, // admin shutdown
		{&pgconn.PgError{Code: "57P03"}, true}, // starting up
		{&pgconn.PgError{Code: "08006"}, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset")}, true},
		{nil, false},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation: a real answer
		{pgx.ErrNoRows, false},
		{store.ErrNotFound, false},
		{errors.New("boom"), false},
		{context.Canceled, false},
	} {
		if got := store.IsUnavailable(c.err); got != c.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
