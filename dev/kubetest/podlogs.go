package kubetest

import (
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
	"time"
)

// PodLogLines are the lines every fake pod of a full cluster logs (in
// PodLogFile, CRI format); AppendPodLog adds more for follow tests.
var PodLogLines = []string{"kwok pod started", "listening on :8080"}

// writePodLogs writes the shared pod log and a KWOK ClusterLogs config
// serving it for every container of every pod.
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

// AppendPodLog appends a stdout line to PodLogFile (all fake pods' log).
func (c *Cluster) AppendPodLog(line string) error {
	f, err := os.OpenFile(c.PodLogFile, os.O_APPEND|os.O_WRONLY, 0)
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
