package kubetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// PodLogLines are the lines every fake pod of a full cluster logs by default
// (in PodLogFile, CRI format); AppendPodLog adds more for follow tests.
// SetPodLog gives one pod its own log instead.
var PodLogLines = []string{"kwok pod started", "listening on :8080"}

// writePodLogs writes the shared pod log and a KWOK ClusterLogs config
// serving it for every container of every pod without its own Logs object
// (see SetPodLog).
func (c *Cluster) writePodLogs() (string, error) {
	c.PodLogFile = filepath.Join(c.Dir, "pod.log")
	f, err := os.Create(c.PodLogFile)
	if err != nil {
		return "", fmt.Errorf("pod log: %w", err)
	}
	f.Close()
	for _, l := range PodLogLines {
		if err := c.AppendPodLog(l); err != nil {
			return "", err
		}
	}
	cfg := fmt.Sprintf(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: all-pods
spec:
  logs:
  - logsFile: %q
    follow: true
`, c.PodLogFile)
	path := filepath.Join(c.Dir, "kwok-logs.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return "", fmt.Errorf("write KWOK logs config: %w", err)
	}
	return path, nil
}

// AppendPodLog appends a stdout line to PodLogFile (the log of every fake
// pod without its own, see SetPodLog).
func (c *Cluster) AppendPodLog(line string) error {
	return appendLog(c.PodLogFile, line)
}

// KWOK's per-pod Logs resource (kwok runs with --enable-crds=Logs: a Logs
// object named and namespaced like a pod says which file that pod's
// containers log; pods without one use the ClusterLogs default).
var logsGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}

// installLogsCRD registers KWOK's Logs resource (a schemaless copy of its
// CRD: only KWOK reads these objects) and waits until it is served.
func installLogsCRD(ctx context.Context, dc dynamic.Interface) error {
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	name := logsGVR.Resource + "." + logsGVR.Group
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"group": logsGVR.Group, "scope": "Namespaced",
			"names": map[string]any{"kind": "Logs", "listKind": "LogsList", "plural": "logs", "singular": "logs"},
			"versions": []any{map[string]any{
				"name": logsGVR.Version, "served": true, "storage": true,
				"subresources": map[string]any{"status": map[string]any{}},
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
	if _, err := dc.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create KWOK Logs CRD: %w", err)
	}
	for {
		got, err := dc.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("KWOK Logs CRD not established: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SetPodLog gives one fake pod of a full cluster its own log with lines
// (CRI format, stdout) instead of the shared PodLogFile, and waits until the
// API server serves it. AppendPodLogOf adds lines later.
func (c *Cluster) SetPodLog(ctx context.Context, namespace, pod string, lines ...string) error {
	if len(lines) == 0 {
		return fmt.Errorf("SetPodLog %s/%s: no lines", namespace, pod)
	}
	path := c.podLogPath(namespace, pod)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("pod log dir: %w", err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return fmt.Errorf("pod log: %w", err)
	}
	for _, l := range lines {
		if err := appendLog(path, l); err != nil {
			return err
		}
	}
	dc, err := dynamic.NewForConfig(c.RestConfig())
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": logsGVR.GroupVersion().String(), "kind": "Logs",
		"metadata": map[string]any{"name": pod, "namespace": namespace},
		"spec":     map[string]any{"logs": []any{map[string]any{"logsFile": path, "follow": true}}},
	}}
	if _, err := dc.Resource(logsGVR).Namespace(namespace).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create KWOK Logs for pod %s/%s: %w", namespace, pod, err)
	}
	// KWOK picks Logs objects up through a watch: wait until it serves them.
	cs, err := kubernetes.NewForConfig(c.RestConfig())
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	var got string
	for {
		b, err := cs.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err == nil && strings.Contains(string(b), lines[0]) {
			return nil
		}
		got = fmt.Sprintf("%q (%v)", b, err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("pod %s/%s never served its own log: %w; last: %s", namespace, pod, ctx.Err(), got)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// AppendPodLogOf appends a stdout line to the log SetPodLog gave one pod.
func (c *Cluster) AppendPodLogOf(namespace, pod, line string) error {
	return appendLog(c.podLogPath(namespace, pod), line)
}

func (c *Cluster) podLogPath(namespace, pod string) string {
	return filepath.Join(c.Dir, "pod-logs", namespace+"_"+pod+".log")
}

// appendLog appends a stdout line in CRI format to a log file.
func appendLog(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("append pod log: %w", err)
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), line)
	return err
}

// writeServingCert makes a self-signed certificate for 127.0.0.1 (KWOK's
// kubelet server; the API server does not verify kubelet certificates
// unless told to).
func writeServingCert(dir string) (certPath, keyPath string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: FakeNode},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", fmt.Errorf("serving certificate: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("serving key: %w", err)
	}
	certPath, keyPath = filepath.Join(dir, "kwok.crt"), filepath.Join(dir, "kwok.key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}
