package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Custom domains reach a runtime only through sdk.DeployRequest.Domains
// (the Kubernetes runtime makes them Ingress hosts), so when a project's
// set of verified domains changes its running deployments are deployed
// again (Deploy is idempotent per deployment id) with the new list.
//
// Why this way: every change of a verified domain already NOTIFYs
// "d:<project uuid>" on the edge's channel (migration 0011's trigger, on
// whichever replica or psql session made it, after commit). The controller
// LISTENs on that channel too; only the lease holder acts on it, so no hook
// in the domains service and no new column are needed. The notification
// only says "look now": the decision is level-based, in running(): each
// health check compares the project's verified domains with the list this
// controller last handed the runtime for the deployment and deploys again
// when they differ (or when this controller never handed one, e.g. after
// taking over the lease). A missed notification therefore costs at most
// one health interval. Runtimes that ignore domains (docker behind rise's
// edge, which routes custom domains itself) see one redundant idempotent
// Deploy per running deployment of the project per change: an inspect of
// the existing container.

// parseRoutesEvent reads a payload of store.RoutesChannel: only domain changes
// concern the controller.
func parseRoutesEvent(payload string) (event, bool) {
	project, ok := strings.CutPrefix(payload, "d:")
	return event{Domains: project}, ok && project != ""
}

// handedDomains remembers, per running deployment (uuid), the custom
// domains this controller last handed the runtime. In memory like
// pullCredentials: a new leader hands every running deployment its list
// once.
type handedDomains struct{ m sync.Map } // uuid → []string

func (h *handedDomains) handed(id string, domains []string) { h.m.Store(id, slices.Clone(domains)) }

// changed reports whether domains differ from what deployment id was last
// handed (true when it never was).
func (h *handedDomains) changed(id string, domains []string) bool {
	v, ok := h.m.Load(id)
	return !ok || !slices.Equal(v.([]string), domains)
}

func (h *handedDomains) forget(id string) { h.m.Delete(id) }

// domainsChanged reports whether running deployment d must be deployed
// again to hand the runtime its project's current verified domains.
func (c call) domainsChanged(ctx context.Context, d *row) (bool, error) {
	if c.o.Domains == nil {
		return false, nil
	}
	ds, err := c.o.Domains(ctx, d.ProjectID)
	if err != nil {
		return false, fmt.Errorf("custom domains of %s: %w", d.Project, err)
	}
	return c.domains.changed(d.UUID, ds), nil
}

// refreshDomains makes every deployment of project projectID that has
// runtime resources due now, so the running ones compare their domains
// (the work item "r:<project uuid>").
func (c *Controller) refreshDomains(ctx context.Context, projectID string) error {
	ds, err := c.repo.WithHandles(ctx, projectID)
	if err != nil {
		return fmt.Errorf("custom domains changed: %w", err)
	}
	c.mu.Lock()
	for _, d := range ds {
		c.mark("d:" + d.UUID)
	}
	c.mu.Unlock()
	c.poke()
	return nil
}
