package kubernetes

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// readCache serves Status's reads from informers (one watch per kind for
// all of rise's objects) instead of a GET per call. Until the informers
// have synced, and whenever an object is missing from them (just created),
// reads go to the API server.
type readCache struct {
	// written holds "<kind>/<ns>/<name>" → time of this process's last
	// write; such objects are read from the API server for a while, so a
	// Status right after Deploy, Stop or a supersede sees its own writes.
	written sync.Map

	once        sync.Once
	synced      atomic.Bool
	deployments appslisters.DeploymentLister
	services    corelisters.ServiceLister
	pods        corelisters.PodLister
}

// startCache starts the informers on first use (never when disabled).
func (r *Runtime) startCache(c kubernetes.Interface) *readCache {
	if r.DisableCache {
		return nil
	}
	rc := &r.cache
	rc.once.Do(func() {
		opts := []informers.SharedInformerOption{informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = LabelManagedBy + "=" + managedBy
		})}
		if !r.perProjectNamespace() {
			opts = append(opts, informers.WithNamespace(r.NamespaceFormat))
		}
		f := informers.NewSharedInformerFactoryWithOptions(c, 0, opts...)
		deps, svcs, pods := f.Apps().V1().Deployments(), f.Core().V1().Services(), f.Core().V1().Pods()
		rc.deployments, rc.services, rc.pods = deps.Lister(), svcs.Lister(), pods.Lister()
		synced := []cache.InformerSynced{deps.Informer().HasSynced, svcs.Informer().HasSynced, pods.Informer().HasSynced}
		stop := make(chan struct{}) // the informers live as long as the plugin process
		f.Start(stop)
		go func() {
			if cache.WaitForCacheSync(stop, synced...) {
				rc.synced.Store(true)
			}
		}()
	})
	return rc
}

// writeSettle is how long after writing an object reads bypass the cache.
var writeSettle = 10 * time.Second

// wrote records that this process changed an object.
func (r *Runtime) wrote(kind, ns, name string) {
	r.cache.written.Store(kind+"/"+ns+"/"+name, time.Now())
}

// cached returns the cache if reads of the object may use it.
func (r *Runtime) cached(c kubernetes.Interface, kind, ns, name string) *readCache {
	rc := r.startCache(c)
	if rc == nil || !rc.synced.Load() {
		return nil
	}
	key := kind + "/" + ns + "/" + name
	if at, ok := rc.written.Load(key); ok {
		if time.Since(at.(time.Time)) < writeSettle {
			return nil
		}
		rc.written.Delete(key)
	}
	return rc
}

func (r *Runtime) getDeployment(ctx context.Context, c kubernetes.Interface, ns, name string) (*appsv1.Deployment, error) {
	if rc := r.cached(c, "deployment", ns, name); rc != nil {
		if d, err := rc.deployments.Deployments(ns).Get(name); err == nil {
			return d, nil
		}
	}
	return c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
}

func (r *Runtime) getService(ctx context.Context, c kubernetes.Interface, ns, name string) (*corev1.Service, error) {
	if rc := r.cached(c, "service", ns, name); rc != nil {
		if s, err := rc.services.Services(ns).Get(name); err == nil {
			return s, nil
		}
	}
	return c.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
}

func (r *Runtime) listPods(ctx context.Context, c kubernetes.Interface, ns string, sel map[string]string) ([]corev1.Pod, error) {
	if rc := r.cached(c, "pods", ns, ""); rc != nil {
		ls := labels.SelectorFromSet(sel)
		list, err := rc.pods.Pods(ns).List(ls)
		if err == nil {
			out := make([]corev1.Pod, 0, len(list))
			for _, p := range list {
				out = append(out, *p)
			}
			return out, nil
		}
	}
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
	if err != nil {
		return nil, fmt.Errorf("list pods in %s: %w", ns, err)
	}
	return list.Items, nil
}
