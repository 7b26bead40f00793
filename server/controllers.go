package server

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// startControllers runs every controller in its own goroutine until ctx
// ends. A controller that returns early or panics is restarted after a
// backoff (1s doubling to 1m, reset after an hour of healthy running). The
// returned channel closes when all have stopped.
func (s *Server) startControllers(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range s.deps.Controllers {
		wg.Go(func() { s.superviseController(ctx, c) })
	}
	go func() { wg.Wait(); close(done) }()
	return done
}

func (s *Server) superviseController(ctx context.Context, c Controller) {
	name := controllerName(c)
	log := s.log.Named("controller").With("controller", name)
	backoff := time.Second
	for {
		log.Debug("controller starting")
		start := time.Now()
		err := runController(ctx, c)
		if ctx.Err() != nil {
			log.Debug("controller stopped")
			return
		}
		if err == nil {
			err = errors.New("returned before the server stopped")
		}
		if time.Since(start) > time.Hour {
			backoff = time.Second
		}
		log.Error("controller failed; restarting", "error", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func runController(ctx context.Context, c Controller) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	return c.Run(ctx)
}
