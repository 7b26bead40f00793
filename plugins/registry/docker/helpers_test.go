package docker

import "crypto/x509"

func x509Opts(r *Registry) x509.VerifyOptions {
	pool := x509.NewCertPool()
	pool.AddCert(r.cert)
	return x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
}
