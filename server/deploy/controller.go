package deploy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/server/store"
)

// Controller drives every non-terminal deployment with the runtime and
// cleans up projects being deleted. It is level-based: each reconcile reads
// the row, observes the runtime and moves one step, so a restarted (or
// kill -9'ed) controller resumes where the database says. Work is woken by
// LISTEN/NOTIFY events, per-deployment requeue timers and a slow resync;
// with several replicas only the holder of the lease reconciles.
type Controller struct {
	o   Options
	st  *store.Store
	log hclog.Logger
	n   *notifier // run by the Service

	mu       sync.Mutex
	due      map[string]time.Time // key → when to reconcile
	inflight map[string]bool
	dirty    map[string]bool // an event arrived while in flight
	resync   bool
	wake     chan struct{}

	pulls pullCredentials // when each running deployment's pull credentials need renewing
}

func newController(o Options, n *notifier) *Controller {
	return &Controller{o: o, st: o.Store, log: o.Log.Named("deployments"), n: n,
		due: map[string]time.Time{}, inflight: map[string]bool{}, dirty: map[string]bool{},
		wake: make(chan struct{}, 1), resync: true}
}

// Run reconciles while this replica holds the lease, until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	unsub := c.n.subscribe(c.onEvent)
	defer unsub()

	for ctx.Err() == nil {
		ok, err := acquireLease(ctx, c.st.Pool(), leaseName, c.o.Holder, c.o.LeaseTTL)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("cannot take the controller lease", "error", err)
		}
		if ok {
			c.log.Info("leading the deployments controller", "holder", c.o.Holder)
			c.lead(ctx)
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = releaseLease(rctx, c.st.Pool(), leaseName, c.o.Holder)
			rcancel()
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(c.o.LeaseTTL / 3):
		}
	}
	return nil
}

// lead runs the work loop until ctx ends or the lease is lost.
func (c *Controller) lead(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { c.renew(ctx, cancel) })

	c.mu.Lock()
	c.resync = true
	c.mu.Unlock()
	resync := time.NewTicker(c.o.Resync)
	defer resync.Stop()
	for {
		c.mu.Lock()
		need := c.resync
		c.resync = false
		c.mu.Unlock()
		if need {
			if err := c.list(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("cannot list deployments", "error", err)
			}
		}
		next := c.dispatch(ctx, &wg)
		timer := time.NewTimer(max(time.Until(next), time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-c.wake:
		case <-timer.C:
		case <-resync.C:
			c.mu.Lock()
			c.resync = true
			c.mu.Unlock()
		}
		timer.Stop()
	}
}

// renew keeps the lease; it cancels leadership when renewal fails for
// longer than the lease lasts.
func (c *Controller) renew(ctx context.Context, lost context.CancelFunc) {
	last := time.Now()
	t := time.NewTicker(c.o.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := acquireLease(ctx, c.st.Pool(), leaseName, c.o.Holder, c.o.LeaseTTL)
		switch {
		case ok:
			last = time.Now()
		case err == nil:
			c.log.Warn("lost the controller lease to another replica")
			lost()
			return
		case time.Since(last) > c.o.LeaseTTL*2/3:
			c.log.Error("cannot renew the controller lease; stepping down", "error", err)
			lost()
			return
		}
	}
}

// list (re)discovers all work from the database.
func (c *Controller) list(ctx context.Context) error {
	keys := map[string]bool{}
	rows, err := c.st.Pool().Query(ctx, `SELECT 'd:' || id FROM deployments WHERE state NOT IN `+terminalSQL+`
		UNION ALL SELECT 'p:' || id FROM projects WHERE status = 'deleting'`)
	if err != nil {
		return fmt.Errorf("list work: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return fmt.Errorf("list work: %w", err)
		}
		keys[k] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list work: %w", err)
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range keys {
		if _, ok := c.due[k]; !ok {
			c.due[k] = now
		}
	}
	for k := range c.due {
		if !keys[k] && !c.inflight[k] {
			delete(c.due, k)
		}
	}
	return nil
}

// dispatch starts every due reconcile (bounded by Workers) and returns when
// the next one is due.
func (c *Controller) dispatch(ctx context.Context, wg *sync.WaitGroup) time.Time {
	now := time.Now()
	next := now.Add(c.o.Resync)
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, at := range c.due {
		if c.inflight[k] {
			continue
		}
		if at.After(now) {
			if at.Before(next) {
				next = at
			}
			continue
		}
		if len(c.inflight) >= c.o.Workers {
			continue // picked up when a worker finishes (it wakes us)
		}
		c.inflight[k] = true
		delete(c.due, k)
		wg.Go(func() { c.work(ctx, k) })
	}
	return next
}

func (c *Controller) work(ctx context.Context, key string) {
	after, err := c.reconcileKey(ctx, key)
	if err != nil && ctx.Err() == nil {
		c.log.Warn("reconcile failed; retrying", "key", key, "error", err)
		after = 2 * c.o.DeployPoll
	}
	c.mu.Lock()
	delete(c.inflight, key)
	switch {
	case c.dirty[key]:
		c.due[key] = time.Now()
	case after > 0:
		c.due[key] = time.Now().Add(after)
	}
	delete(c.dirty, key)
	c.mu.Unlock()
	c.poke()
}

func (c *Controller) onEvent(e event) {
	c.mu.Lock()
	switch {
	case e.Resync:
		c.resync = true
	case e.Deployment != "":
		c.mark("d:" + e.Deployment)
	case e.Project != "":
		c.mark("p:" + e.Project)
	}
	c.mu.Unlock()
	c.poke()
}

// mark makes key due now (c.mu held).
func (c *Controller) mark(key string) {
	if c.inflight[key] {
		c.dirty[key] = true
		return
	}
	c.due[key] = time.Now()
}

func (c *Controller) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
