package kubernetes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/apphost"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
)

// stateVersion is the version of state's shape.
const stateVersion = 1

// state is what Deploy hands the host to give back on later calls.
type state struct {
	Project    string `json:"project"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`    // the Deployment
	Service    string `json:"service"` // the group's Service
	Group      string `json:"group"`
	Env        string `json:"environment,omitempty"` // "" = production (states before environments)
	Port       uint32 `json:"port"`
	Previous   string `json:"previous,omitempty"`    // deployment id this one supersedes
	PreviousNS string `json:"previous_ns,omitempty"` // its namespace
	PrevName   string `json:"previous_name,omitempty"`
}

// target is the app host target of the deployment st describes.
func (st *state) target() apphost.Target {
	return apphost.Target{Project: st.Project, Environment: st.Env, Group: st.Group}
}

// Deploy applies the deployment's objects. Traffic moves to it only once it
// is ready: if the group already serves a previous deployment, the Service
// keeps pointing there and Status switches it (then scales the previous one
// to zero) when this deployment becomes available.
func (r *Runtime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	if err := checkRequest(req); err != nil {
		return nil, err
	}
	c, err := r.clientset()
	if err != nil {
		return nil, err
	}
	ns := r.namespaceFor(req.Project)
	t := req.Target()
	name := r.deploymentName(t, req.DeploymentID)
	st := state{Project: req.Project, Namespace: ns, Name: name, Service: r.serviceName(t),
		Group: t.GroupName(), Env: req.Environment, Port: req.Workload.Port}
	if p := req.Previous; p != nil && p.ID != req.DeploymentID {
		st.Previous = p.ID
		var ps state
		if len(p.State) > 0 && p.DecodeState(&ps) == nil {
			st.PreviousNS, st.PrevName = ps.Namespace, ps.Name
		}
		if st.PrevName == "" {
			st.PreviousNS, st.PrevName = ns, r.deploymentName(t, p.ID)
		}
	}

	step := orNop(ui).Step(fmt.Sprintf("Applying Kubernetes objects in namespace %s", ns))
	err = r.applyAll(ctx, c, req, &st)
	if apierrors.IsNotFound(err) { // namespace deleted behind our cache's back: once more, uncached
		r.applied.forgetPrefix(ns + "/")
		err = r.applyAll(ctx, c, req, &st)
	}
	if err != nil {
		return nil, step.Fail(ctxErr(ctx, classify(err)))
	}
	step.Done()

	d, err := sdk.NewDeployment(req.DeploymentID, st, r.url(t))
	if err != nil {
		return nil, err
	}
	d.Project = req.Project
	d.StateVersion = stateVersion
	return d, nil
}

func (r *Runtime) applyAll(ctx context.Context, c kubernetes.Interface, req *sdk.DeployRequest, st *state) error {
	ns, name := st.Namespace, st.Name
	opts := metav1.ApplyOptions{FieldManager: r.FieldManager, Force: true}

	nsObj := r.namespaceObject(req.Project)
	if err := r.applyCached(ns+"/namespace", nsObj, func() error {
		existing, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return err
		case !r.ownsNamespace(existing, req.Project):
			return sdk.Permanent(fmt.Errorf("namespace %s exists but rise did not create it for project %s "+
				"(it lacks the label %s=%s%s); rise does not adopt it", ns, req.Project, LabelManagedBy, managedBy,
				r.projectLabelHint(req.Project)))
		}
		_, err = c.CoreV1().Namespaces().Apply(ctx, nsObj, opts)
		return err
	}); err != nil {
		return fmt.Errorf("apply namespace %s: %w", ns, err)
	}
	if len(req.Workload.SecretEnv) > 0 {
		if _, err := c.CoreV1().Secrets(ns).Apply(ctx, r.envSecret(ns, name, req), opts); err != nil {
			return fmt.Errorf("apply secret %s/%s-env: %w", ns, name, err)
		}
	}
	if req.PullCredentials != nil {
		s, err := r.pullSecret(ns, name, req)
		if err != nil {
			return err
		}
		if _, err := c.CoreV1().Secrets(ns).Apply(ctx, s, opts); err != nil {
			return fmt.Errorf("apply image pull secret %s/%s-pull: %w", ns, name, err)
		}
	}
	dep, err := r.deploymentObject(ns, name, req)
	if err != nil {
		return err
	}
	r.wrote("deployment", ns, name)
	if _, err := c.AppsV1().Deployments(ns).Apply(ctx, dep, opts); err != nil {
		return fmt.Errorf("apply deployment %s/%s: %w", ns, name, err)
	}

	// Service: point it at this deployment unless it serves a previous one
	// that is still up; then Status switches it once this one is ready.
	target := req.DeploymentID
	if st.Previous != "" {
		svc, err := r.getService(ctx, c, ns, st.Service)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("get service %s/%s: %w", ns, st.Service, err)
		default:
			if cur := svc.Annotations[annotationTarget]; cur != "" && cur != req.DeploymentID {
				target = "" // leave the Service alone
			}
		}
	}
	if target != "" {
		svc := r.serviceObject(ns, req.Target(), target, req.Workload.Port)
		r.wrote("service", ns, st.Service)
		if _, err := c.CoreV1().Services(ns).Apply(ctx, svc, opts); err != nil {
			return fmt.Errorf("apply service %s/%s: %w", ns, st.Service, err)
		}
	}

	ing := r.ingressObject(ns, req.Target(), req.Visibility, req.Domains)
	if err := r.applyCached(ns+"/ingress/"+st.Service, ing, func() error {
		_, err := c.NetworkingV1().Ingresses(ns).Apply(ctx, ing, opts)
		return err
	}); err != nil {
		return fmt.Errorf("apply ingress %s/%s: %w", ns, st.Service, err)
	}
	if err := r.applyEdge(ctx, c, req, ns, opts); err != nil {
		return err
	}
	if !r.DisableNetworkPolicy {
		np, egress := r.networkPolicy(ns, req.Project), r.egressPolicy(ns, req.Project)
		if err := r.applyCached(ns+"/networkpolicy", []any{np, egress}, func() error {
			if _, err := c.NetworkingV1().NetworkPolicies(ns).Apply(ctx, np, opts); err != nil {
				return err
			}
			_, err := c.NetworkingV1().NetworkPolicies(ns).Apply(ctx, egress, opts)
			return err
		}); err != nil {
			return fmt.Errorf("apply network policy in %s: %w", ns, err)
		}
	}
	return nil
}

// applyEdge routes a private app's /.rise/ paths to rise (edge_service),
// and removes that route when the app is not private (any more).
func (r *Runtime) applyEdge(ctx context.Context, c kubernetes.Interface, req *sdk.DeployRequest, ns string, opts metav1.ApplyOptions) error {
	if r.EdgeService == "" {
		return nil
	}
	name := r.edgeName(req.Target())
	key := ns + "/edge/" + name
	if req.Visibility == "private" {
		svc, ing := r.edgeService(ns, req.Target()), r.edgeIngress(ns, req.Target())
		return r.applyCached(key, []any{svc, ing}, func() error {
			if _, err := c.CoreV1().Services(ns).Apply(ctx, svc, opts); err != nil {
				return fmt.Errorf("apply service %s/%s: %w", ns, name, err)
			}
			if _, err := c.NetworkingV1().Ingresses(ns).Apply(ctx, ing, opts); err != nil {
				return fmt.Errorf("apply ingress %s/%s: %w", ns, name, err)
			}
			return nil
		})
	}
	return r.applyCached(key, "absent", func() error {
		err := c.NetworkingV1().Ingresses(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete ingress %s/%s: %w", ns, name, err)
		}
		err = c.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete service %s/%s: %w", ns, name, err)
		}
		return nil
	})
}

// applyCached runs apply unless this process already applied the same
// configuration under key recently.
func (r *Runtime) applyCached(key string, obj any, apply func() error) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	if r.applied.fresh(key, digest) {
		return nil
	}
	if err := apply(); err != nil {
		return err
	}
	r.applied.store(key, digest)
	return nil
}

func checkRequest(req *sdk.DeployRequest) error {
	var errs []string
	if msgs := validation.IsDNS1123Label(req.Project); len(msgs) > 0 {
		errs = append(errs, fmt.Sprintf("project name %q cannot name Kubernetes objects: %s", req.Project, strings.Join(msgs, "; ")))
	} else if c := req.Project[0]; c < 'a' || c > 'z' {
		errs = append(errs, fmt.Sprintf("project name %q must start with a letter", req.Project))
	} else if strings.Contains(req.Project, groupSep) {
		// <project>--<group> is a group's host: "a--b" would serve, or
		// steal, group b of project a.
		errs = append(errs, fmt.Sprintf("project name %q contains %q, which the kubernetes runtime reserves for group hosts (<project>--<group>); rename the project", req.Project, groupSep))
	}
	if err := req.Target().Check(); err != nil && len(errs) == 0 {
		errs = append(errs, err.Error())
	}
	if req.DeploymentID == "" {
		errs = append(errs, "deployment id is empty")
	}
	if req.Artifact.Repository == "" {
		errs = append(errs, "no image to deploy (artifact repository is empty)")
	}
	if req.Workload.Port > 65535 {
		errs = append(errs, fmt.Sprintf("port %d is out of range", req.Workload.Port))
	}
	if len(errs) > 0 {
		return sdk.Permanent(errors.New(strings.Join(errs, "; ")))
	}
	return nil
}

// classify marks errors that retrying cannot fix (the API server rejected
// the object) as permanent.
func classify(err error) error {
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		// The project was just destroyed; the namespace goes away shortly.
		return fmt.Errorf("namespace is still being deleted, retry shortly: %w", err)
	}
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err) {
		return sdk.Permanent(err)
	}
	return err
}
