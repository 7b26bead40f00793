package deploy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/store"
)

// Controller drives every non-terminal deployment with the runtime and
// cleans up projects being deleted. It is level-based: each reconcile reads
// the row, observes the runtime and moves one step, so a restarted (or
// kill -9'ed) controller resumes where the database says. Work is woken by
// LISTEN/NOTIFY events, per-deployment requeue timers and a slow resync;
// with several replicas only the holder of the lease reconciles. A failing
// deployment is retried with exponential backoff; while the database is
// unreachable the controller pauses and resumes (with a full resync) once it
// answers again.
type Controller struct {
	o    Options
	repo *repo
	rec  *reconciler
	log  hclog.Logger
	n    *notifier // run by the Service

	mu       sync.Mutex
	due      map[string]time.Time // key → when to reconcile
	inflight map[string]bool
	dirty    map[string]bool // an event arrived while in flight
	failures map[string]int  // key → consecutive failed reconciles
	resync   bool
	paused   bool // the database is unreachable
	wake     chan struct{}
}

// pausePoll is how often a paused controller checks for the database.
const pausePoll = 250 * time.Millisecond

func newController(o Options, r *repo, n *notifier) *Controller {
	log := o.Log.Named("deployments")
	c := &Controller{o: o, repo: r, log: log, n: n,
		due: map[string]time.Time{}, inflight: map[string]bool{}, dirty: map[string]bool{}, failures: map[string]int{},
		wake: make(chan struct{}, 1), resync: true}
	c.rec = newReconciler(&c.o, log)
	return c
}

// Run reconciles while this replica holds the lease, until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	unsub := c.n.subscribe(c.onEvent)
	defer unsub()

	for ctx.Err() == nil {
		ok, err := c.repo.AcquireLease(ctx, leaseName, c.o.Holder, c.o.LeaseTTL)
		wait := c.o.LeaseTTL / 3
		switch {
		case err == nil:
			c.resume()
		case ctx.Err() != nil:
		case store.IsUnavailable(err):
			c.pause(err)
			wait = pausePoll
		default:
			c.log.Warn("cannot take the controller lease", "error", err)
		}
		if ok {
			c.log.Info("leading the deployments controller", "holder", c.o.Holder)
			c.lead(ctx)
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = c.repo.ReleaseLease(rctx, leaseName, c.o.Holder)
			rcancel()
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return nil
}

// pause stops dispatching work until the database answers again.
func (c *Controller) pause(err error) {
	c.mu.Lock()
	if !c.paused {
		c.paused = true
		c.log.Warn("database unavailable; deployments controller paused until it answers", "error", err)
	}
	c.mu.Unlock()
	c.poke()
}

// resume ends a pause: every deployment is looked at again.
func (c *Controller) resume() {
	c.mu.Lock()
	if c.paused {
		c.paused = false
		c.resync = true
		c.log.Info("database answers again; deployments controller resumed")
	}
	c.mu.Unlock()
}

func (c *Controller) isPaused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paused
}

// awaitDatabase pings the database until it answers (then resumes) or ctx
// ends.
func (c *Controller) awaitDatabase(ctx context.Context) {
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := c.repo.Ping(pctx)
		cancel()
		if err == nil {
			c.resume()
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(pausePoll):
		}
	}
}

// databaseAnswers confirms an outage before pausing: a connection error
// from elsewhere (an in-process runtime's engine) must not pause the
// controller, it is the deployment's failure (backed off).
func (c *Controller) databaseAnswers(ctx context.Context) bool {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return c.repo.Ping(pctx) == nil
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
	for ctx.Err() == nil {
		if c.isPaused() {
			c.awaitDatabase(ctx)
			continue
		}
		c.mu.Lock()
		need := c.resync
		c.resync = false
		c.mu.Unlock()
		if need {
			if err := c.list(ctx); err != nil && ctx.Err() == nil {
				if store.IsUnavailable(err) {
					c.pause(err)
					continue
				}
				c.log.Warn("cannot list deployments", "error", err)
			}
		}
		next := c.dispatch(ctx, &wg)
		timer := time.NewTimer(max(time.Until(next), time.Millisecond))
		select {
		case <-ctx.Done():
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
		ok, err := c.repo.AcquireLease(ctx, leaseName, c.o.Holder, c.o.LeaseTTL)
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
	work, err := c.repo.Work(ctx)
	if err != nil {
		return err
	}
	keys := make(map[string]bool, len(work))
	for _, k := range work {
		keys[k] = true
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
		if !keys[k] && !c.inflight[k] && !strings.HasPrefix(k, "r:") { // "r:" comes from events only
			delete(c.due, k)
			delete(c.failures, k)
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
	waiting := 0
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
			waiting++
			continue // picked up when a worker finishes (it wakes us)
		}
		c.inflight[k] = true
		delete(c.due, k)
		wg.Go(func() { c.work(ctx, k) })
	}
	c.o.Metrics.SetQueueDepth(waiting)
	return next
}

func (c *Controller) work(ctx context.Context, key string) {
	start := time.Now()
	after, err := c.reconcileKey(ctx, key)
	c.o.Metrics.ObserveReconcile(time.Since(start), err)
	unavailable := err != nil && ctx.Err() == nil && store.IsUnavailable(err) && !c.databaseAnswers(ctx)
	if unavailable {
		c.pause(err)
	}
	c.mu.Lock()
	delete(c.inflight, key)
	switch {
	case err == nil:
		delete(c.failures, key)
	case ctx.Err() != nil:
	case unavailable:
		after = time.Nanosecond // not the deployment's fault: again right after the pause
	default:
		c.failures[key]++
		n := c.failures[key]
		after = retryBackoff(n, c.o.RetryMin, c.o.RetryMax)
		c.log.Warn("reconcile failed; retrying", "key", key, "attempt", n, "retry_in", after, "error", err)
	}
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

// reconcileKey reconciles one work item ("d:<uuid>", "p:<uuid>" or
// "r:<project uuid>", see domainsync.go) and
// returns when to look again (0: only on the next event).
func (c *Controller) reconcileKey(ctx context.Context, key string) (time.Duration, error) {
	kind, uuid, _ := strings.Cut(key, ":")
	switch kind {
	case "p":
		return c.cleanupProject(ctx, uuid)
	case "r":
		return 0, c.refreshDomains(ctx, uuid)
	}
	d, err := c.repo.Get(ctx, uuid)
	if errors.Is(err, errNoDeployment) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var rt sdk.Runtime
	if d.State.Running() && !d.State.Terminal() && d.ProjectStatus != store.StatusDeleting {
		if rt, err = c.o.runtime(ctx); err != nil {
			return 0, err
		}
	}
	return c.rec.reconcile(ctx, d, rt, c.repo)
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
	case e.Domains != "":
		c.mark("r:" + e.Domains)
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
