package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/riseplatform/rise/sdk"
)

// Each project's containers join their own bridge network, rise-<project>:
// the engine isolates bridge networks from each other, so replicas of one
// project reach each other but no other project's containers. The bridge
// interface on the host is named rise-<10 hex digits of the project's
// hash> so that the host firewall (firewall.go) can match every project
// network with one interface pattern, "rise-+".
const (
	bridgeOption = "com.docker.network.bridge.name"
	bridgePrefix = "rise-"
	// LabelManaged marks networks rise created (with LabelProject).
	LabelManaged = "rise.managed"
)

// NetworkName is a project's network: rise-<project>.
func NetworkName(project string) string { return "rise-" + project }

// bridgeName is the host interface of a project's network (≤ 15 bytes).
func bridgeName(project string) string {
	sum := sha256.Sum256([]byte(project))
	return bridgePrefix + hex.EncodeToString(sum[:])[:10]
}

// ensureNetwork returns the project's network, creating it when missing. A
// network of that name that rise did not create for this project is
// refused rather than joined: it may be someone else's, or not isolated.
func (r *Runtime) ensureNetwork(ctx context.Context, project string) (string, error) {
	name := NetworkName(project)
	for attempt := 0; ; attempt++ {
		n, err := r.cli.NetworkInspect(ctx, name, network.InspectOptions{})
		if err == nil {
			if err := ownNetwork(n, project); err != nil {
				return "", sdk.Permanent(err)
			}
			return n.ID, nil
		}
		if !cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("inspect network %s: %w", name, err)
		}
		_, err = r.cli.NetworkCreate(ctx, name, network.CreateOptions{
			Driver: "bridge",
			Options: map[string]string{
				bridgeOption:                           bridgeName(project),
				"com.docker.network.bridge.enable_icc": "true",
			},
			Labels: map[string]string{LabelManaged: "true", LabelProject: project},
		})
		switch {
		case err == nil:
		case cerrdefs.IsConflict(err) && attempt < 3:
			// A concurrent Deploy of the project made it: inspect that.
		default:
			return "", fmt.Errorf("create network %s: %w", name, err)
		}
	}
}

// ownNetwork checks that n is the network rise made for project. (Podman
// does not report the bridge option back; the Docker Engine does.)
func ownNetwork(n network.Inspect, project string) error {
	opt, ok := n.Options[bridgeOption]
	if n.Labels[LabelManaged] != "true" || n.Labels[LabelProject] != project ||
		n.Driver != "bridge" || ok && opt != bridgeName(project) {
		return fmt.Errorf("network %s exists but was not created by rise for project %s; remove it (docker network rm %s)",
			n.Name, project, n.Name)
	}
	return nil
}

// removeNetwork deletes the project's network (after its containers). A
// missing network, or one that is not rise's, is left alone.
func (r *Runtime) removeNetwork(ctx context.Context, project string) error {
	name := NetworkName(project)
	n, err := r.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect network %s: %w", name, err)
	}
	if ownNetwork(n, project) != nil {
		return nil
	}
	if err := r.cli.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	return nil
}
