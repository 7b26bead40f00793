package kubernetes

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/riseplatform/rise/sdk"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Logs streams the app container's output from every pod of the deployment,
// each line prefixed by nothing but carrying the kubelet's timestamp. With
// Follow it runs until ctx ends or every pod's stream closes.
func (r *Runtime) Logs(ctx context.Context, d *sdk.Deployment, o sdk.LogOptions, emit func(sdk.LogLine) error) error {
	var st state
	if err := d.DecodeState(&st); err != nil {
		return err
	}
	c, err := r.clientset()
	if err != nil {
		return err
	}
	sel := labels.SelectorFromSet(selector(st.Project, st.Group, d.ID)).String()
	pods, err := c.CoreV1().Pods(st.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return fmt.Errorf("list pods of deployment %s: %w", d.ID, err)
	}
	if len(pods.Items) == 0 {
		return nil
	}
	opts := &corev1.PodLogOptions{Container: containerName, Follow: o.Follow, Timestamps: true}
	if !o.Since.IsZero() {
		t := metav1.NewTime(o.Since)
		opts.SinceTime = &t
	}
	if o.Tail > 0 {
		n := int64(o.Tail)
		opts.TailLines = &n
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex // serialises emit
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for _, p := range pods.Items {
		wg.Add(1)
		go func(pod string) {
			defer wg.Done()
			stream, err := c.CoreV1().Pods(st.Namespace).GetLogs(pod, opts).Stream(ctx)
			if err != nil {
				if ctx.Err() == nil {
					fail(fmt.Errorf("logs of pod %s: %w", pod, err))
				}
				return
			}
			defer stream.Close()
			if err := scanLines(stream, func(l sdk.LogLine) error {
				mu.Lock()
				defer mu.Unlock()
				return emit(l)
			}); err != nil && ctx.Err() == nil {
				fail(fmt.Errorf("logs of pod %s: %w", pod, err))
			}
		}(p.Name)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// scanLines parses "<RFC3339Nano timestamp> <text>" lines.
func scanLines(rd io.Reader, emit func(sdk.LogLine) error) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		l := sdk.LogLine{Stream: sdk.Stdout, Text: line}
		if ts, rest, ok := strings.Cut(line, " "); ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				l.Time, l.Text = t, rest
			}
		}
		if err := emit(l); err != nil {
			return err
		}
	}
	return sc.Err()
}
