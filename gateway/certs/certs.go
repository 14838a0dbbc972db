// Package certs holds a node's TLS certificate: loaded from PEM files,
// served to each new connection, and reloaded on demand (SIGHUP) without
// touching connections already established.
//
// The same certificate and key serve the S3 and admin API listener and, in
// a cluster, identify the node to its peers (mutual TLS of the Raft
// transport and of chunk traffic, with the cluster's CA).
package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
)

// Reloader holds the certificate and key loaded from two files. It is safe
// for concurrent use.
type Reloader struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// Load reads the certificate chain and key (PEM).
func Load(certFile, keyFile string) (*Reloader, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("certs: a certificate file and a key file are both needed")
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads the files again. On failure the certificate in use stays.
// Connections made after it returns get the new certificate; connections
// already open keep theirs.
func (r *Reloader) Reload() error {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("certs: loading %s and %s: %w", r.certFile, r.keyFile, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return fmt.Errorf("certs: parsing %s: %w", r.certFile, err)
		}
	}
	r.cur.Store(&c)
	return nil
}

// Certificate returns the certificate in use (Leaf is set).
func (r *Reloader) Certificate() *tls.Certificate { return r.cur.Load() }

// GetCertificate is tls.Config.GetCertificate: the certificate in use.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// GetClientCertificate is tls.Config.GetClientCertificate, for a node
// that presents the same certificate to its peers.
func (r *Reloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// ServerConfig is a TLS 1.2+ server configuration serving the certificate
// in use, for HTTP/1.1.
func (r *Reloader) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: r.GetCertificate,
		NextProtos:     []string{"http/1.1"},
	}
}
