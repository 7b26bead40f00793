package kubernetes

import (
	"context"
	"fmt"

	"github.com/riseplatform/rise/sdk"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Stop deletes the deployment's Deployment and Secrets. The target's
// Service and Ingress (its URL) stay while they route to another
// deployment or another deployment of the target exists (a rollout under
// way); when the stopped deployment was the last one serving the target
// (stopped, expired), they go too, so the URL stops answering. Stopping a
// missing deployment succeeds.
func (r *Runtime) Stop(ctx context.Context, d *sdk.Deployment, ui sdk.UI) error {
	var st state
	if err := d.DecodeState(&st); err != nil {
		return err
	}
	c, err := r.clientset()
	if err != nil {
		return err
	}
	ui = orNop(ui)
	step := ui.Step(fmt.Sprintf("Deleting deployment %s/%s", st.Namespace, st.Name))
	bg := metav1.DeletePropagationBackground
	r.wrote("deployment", st.Namespace, st.Name)
	err = c.AppsV1().Deployments(st.Namespace).Delete(ctx, st.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		return step.Fail(ctxErr(ctx, fmt.Errorf("delete deployment %s/%s: %w", st.Namespace, st.Name, err)))
	}
	sel := labels.SelectorFromSet(map[string]string{
		LabelManagedBy: managedBy, LabelProject: labelValue(st.Project), LabelDeployment: labelValue(d.ID),
	}).String()
	err = c.CoreV1().Secrets(st.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel})
	if err != nil && !apierrors.IsNotFound(err) {
		return step.Fail(ctxErr(ctx, fmt.Errorf("delete secrets of %s/%s: %w", st.Namespace, st.Name, err)))
	}
	step.Done()
	if st.Service == "" {
		return nil
	}
	return r.removeRouteIfLast(ctx, c, d.ID, &st, ui)
}

// removeRouteIfLast deletes the target's Service, Ingress and edge route
// when they route to deployment id and no other Deployment of the target
// is left.
func (r *Runtime) removeRouteIfLast(ctx context.Context, c kubernetes.Interface, id string, st *state, ui sdk.UI) error {
	cur, err := r.serving(ctx, c, st)
	if err != nil {
		return ctxErr(ctx, err)
	}
	if cur != id {
		return nil
	}
	t := st.target()
	sel := labels.SelectorFromSet(map[string]string{LabelManagedBy: managedBy, LabelProject: labelValue(t.Project),
		LabelGroup: labelValue(t.GroupName()), LabelEnv: labelValue(t.Env())}).String()
	deps, err := c.AppsV1().Deployments(st.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return ctxErr(ctx, fmt.Errorf("list deployments of %s in %s: %w", t, st.Namespace, err))
	}
	for _, d := range deps.Items {
		if d.Name != st.Name && d.DeletionTimestamp == nil {
			return nil // another deployment of the target takes over
		}
	}
	step := ui.Step(fmt.Sprintf("Removing the route of %s (%s)", t, r.host(t)))
	ns := st.Namespace
	for _, name := range []string{st.Service, r.edgeName(t)} {
		if err := c.NetworkingV1().Ingresses(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return step.Fail(ctxErr(ctx, fmt.Errorf("delete ingress %s/%s: %w", ns, name, err)))
		}
		r.wrote("service", ns, name)
		if err := c.CoreV1().Services(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return step.Fail(ctxErr(ctx, fmt.Errorf("delete service %s/%s: %w", ns, name, err)))
		}
	}
	r.applied.forgetPrefix(ns + "/")
	step.Done()
	return nil
}

// Destroy removes everything rise created for project: its namespace, or,
// when projects share a namespace, every object labelled with the project.
func (r *Runtime) Destroy(ctx context.Context, project string, ui sdk.UI) error {
	c, err := r.clientset()
	if err != nil {
		return err
	}
	ui = orNop(ui)
	ns := r.namespaceFor(project)
	defer r.applied.forgetPrefix(ns + "/")
	if r.perProjectNamespace() {
		existing, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return ctxErr(ctx, fmt.Errorf("get namespace %s: %w", ns, err))
		}
		if !r.ownsNamespace(existing, project) {
			// Not rise's (Deploy never adopted it): nothing of the
			// project's can be in it.
			ui.Logf("Namespace %s was not created by rise for project %s; leaving it alone", ns, project)
			return nil
		}
		step := ui.Step(fmt.Sprintf("Deleting namespace %s", ns))
		bg := metav1.DeletePropagationBackground
		uid := existing.UID // the namespace checked, not a namesake made since
		err = c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{PropagationPolicy: &bg,
			Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return step.Fail(ctxErr(ctx, fmt.Errorf("delete namespace %s: %w", ns, err)))
		}
		step.Done()
		return nil
	}

	step := ui.Step(fmt.Sprintf("Deleting project %s's objects in namespace %s", project, ns))
	sel := metav1.ListOptions{LabelSelector: labels.SelectorFromSet(map[string]string{
		LabelManagedBy: managedBy, LabelProject: labelValue(project)}).String()}
	bg := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &bg}
	deletes := []struct {
		what string
		fn   func() error
	}{
		{"ingresses", func() error { return c.NetworkingV1().Ingresses(ns).DeleteCollection(ctx, del, sel) }},
		{"network policies", func() error { return c.NetworkingV1().NetworkPolicies(ns).DeleteCollection(ctx, del, sel) }},
		{"deployments", func() error { return c.AppsV1().Deployments(ns).DeleteCollection(ctx, del, sel) }},
		{"secrets", func() error { return c.CoreV1().Secrets(ns).DeleteCollection(ctx, del, sel) }},
		{"services", func() error {
			// Services have no deletecollection: delete them one by one.
			list, err := c.CoreV1().Services(ns).List(ctx, sel)
			if err != nil {
				return err
			}
			for _, s := range list.Items {
				if err := c.CoreV1().Services(ns).Delete(ctx, s.Name, del); err != nil && !apierrors.IsNotFound(err) {
					return err
				}
			}
			return nil
		}},
	}
	for _, d := range deletes {
		if err := d.fn(); err != nil && !apierrors.IsNotFound(err) {
			return step.Fail(ctxErr(ctx, fmt.Errorf("delete %s of project %s in %s: %w", d.what, project, ns, err)))
		}
	}
	step.Done()
	return nil
}
