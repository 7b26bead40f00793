package kubernetes

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/riseplatform/rise/sdk"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// fatalReasons are container waiting reasons a deployment does not recover
// from without a new deployment.
var fatalReasons = map[string]bool{
	"CrashLoopBackOff":           true,
	"ImagePullBackOff":           true,
	"ErrImageNeverPull":          true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// Status observes the Deployment. When it is available and the group's
// Service still routes to the previous deployment, Status moves the Service
// to it and scales the previous deployment to zero (supersede).
func (r *Runtime) Status(ctx context.Context, d *sdk.Deployment) (*sdk.Status, error) {
	var st state
	if err := d.DecodeState(&st); err != nil {
		return nil, err
	}
	c, err := r.clientset()
	if err != nil {
		return nil, err
	}
	dep, err := r.getDeployment(ctx, c, st.Namespace, st.Name)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("deployment %s/%s: %w", st.Namespace, st.Name, sdk.ErrNotFound)
	}
	if err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("get deployment %s/%s: %w", st.Namespace, st.Name, err))
	}
	if dep.DeletionTimestamp != nil {
		return &sdk.Status{Health: sdk.HealthStopped, Message: "being deleted"}, nil
	}
	want := int32(1)
	if dep.Spec.Replicas != nil {
		want = *dep.Spec.Replicas
	}
	if want == 0 {
		return &sdk.Status{Health: sdk.HealthStopped, Message: "scaled to zero"}, nil
	}
	if cond := condition(dep, appsv1.DeploymentProgressing); cond != nil &&
		cond.Status == corev1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded" {
		return &sdk.Status{Health: sdk.HealthFailed, Message: "rollout did not progress: " + cond.Message}, nil
	}

	ready := dep.Status.ObservedGeneration >= dep.Generation &&
		dep.Status.UpdatedReplicas >= want && dep.Status.AvailableReplicas >= want
	if ready {
		if err := r.promote(ctx, c, d.ID, &st); err != nil {
			return nil, ctxErr(ctx, err)
		}
		return &sdk.Status{Health: sdk.HealthHealthy,
			Message: fmt.Sprintf("%d/%d replicas available", dep.Status.AvailableReplicas, want), URLs: d.URLs}, nil
	}

	// Not (or no longer) ready: look at the pods for a reason.
	pods, err := r.listPods(ctx, c, st.Namespace, dep.Spec.Selector.MatchLabels)
	if err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("pods of %s/%s: %w", st.Namespace, st.Name, err))
	}
	if msg := fatalPodState(pods); msg != "" {
		return &sdk.Status{Health: sdk.HealthFailed, Message: msg}, nil
	}
	msg := fmt.Sprintf("%d/%d replicas available", dep.Status.AvailableReplicas, want)
	if w := waitingReasons(pods); w != "" {
		msg += " (" + w + ")"
	}
	if cond := condition(dep, appsv1.DeploymentReplicaFailure); cond != nil && cond.Status == corev1.ConditionTrue {
		msg += ": " + cond.Message
	}
	// Once its rollout completed, missing replicas make it unhealthy, not pending.
	if cond := condition(dep, appsv1.DeploymentProgressing); cond != nil && cond.Reason == "NewReplicaSetAvailable" {
		return &sdk.Status{Health: sdk.HealthUnhealthy, Message: msg, URLs: d.URLs}, nil
	}
	return &sdk.Status{Health: sdk.HealthPending, Message: msg, URLs: d.URLs}, nil
}

// serving returns the deployment id the group's Service routes to.
func (r *Runtime) serving(ctx context.Context, c kubernetes.Interface, st *state) (string, error) {
	svc, err := r.getService(ctx, c, st.Namespace, st.Service)
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get service %s/%s: %w", st.Namespace, st.Service, err)
	}
	return svc.Annotations[annotationTarget], nil
}

// promote points the group's Service at deployment id, if it routes to the
// deployment id supersedes (or to nothing), and then scales that one away.
// A Service already moved on to a newer deployment is left alone.
func (r *Runtime) promote(ctx context.Context, c kubernetes.Interface, id string, st *state) error {
	cur, err := r.serving(ctx, c, st)
	if err != nil {
		return err
	}
	if cur == id {
		return nil
	}
	if cur != "" && cur != st.Previous {
		return nil // routes to a deployment newer than ours
	}
	opts := metav1.ApplyOptions{FieldManager: r.FieldManager, Force: true}
	svc := r.serviceObject(st.Namespace, st.target(), id, st.Port)
	r.wrote("service", st.Namespace, st.Service)
	if _, err := c.CoreV1().Services(st.Namespace).Apply(ctx, svc, opts); err != nil {
		return fmt.Errorf("switch service %s/%s to deployment %s: %w", st.Namespace, st.Service, id, err)
	}
	if st.PrevName == "" {
		return nil
	}
	patch := []byte(`{"spec":{"replicas":0}}`)
	r.wrote("deployment", st.PreviousNS, st.PrevName)
	_, err = c.AppsV1().Deployments(st.PreviousNS).Patch(ctx, st.PrevName, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("scale superseded deployment %s/%s to zero: %w", st.PreviousNS, st.PrevName, err)
	}
	return nil
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// fatalPodState describes the first pod stuck in an irrecoverable state.
func fatalPodState(pods []corev1.Pod) string {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cs := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && fatalReasons[w.Reason] {
				msg := fmt.Sprintf("pod %s: container %s: %s", p.Name, cs.Name, w.Reason)
				if w.Message != "" {
					msg += ": " + w.Message
				}
				if t := cs.LastTerminationState.Terminated; t != nil && w.Reason == "CrashLoopBackOff" {
					msg += fmt.Sprintf(" (last exit code %d", t.ExitCode)
					if t.Reason != "" {
						msg += ", " + t.Reason
					}
					msg += ")"
				}
				return msg
			}
		}
	}
	return ""
}

// waitingReasons summarises why pods are not ready yet.
func waitingReasons(pods []corev1.Pod) string {
	seen := map[string]bool{}
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" {
				seen[w.Reason] = true
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason != "" {
				seen[c.Reason] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
