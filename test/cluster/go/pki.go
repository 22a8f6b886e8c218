package main

// `kubecp pki DIR` writes the certificates and keys of a local test cluster with Go's crypto, so
// the harness needs no openssl. It is idempotent: files that exist are kept.
//
//	ca.crt ca.key                     cluster CA (ECDSA P-256, 10 years)
//	apiserver.crt apiserver.key       serving cert: localhost, 127.0.0.1, ::1, 10.96.0.1, kubernetes.default.svc...
//	admin.crt admin.key               client: CN=osk-admin, O=system:masters
//	controller-manager.crt/.key       client: CN=system:kube-controller-manager
//	scheduler.crt/.key                client: CN=system:kube-scheduler
//	kwok.crt/.key                     client: CN=kwok-controller, O=system:masters
//	kubelet.crt/.key                  client: CN=system:node:real-node-1, O=system:nodes (the real node, test/cluster/real-node.ts)
//	kube-proxy.crt/.key               client: CN=system:kube-proxy
//	front-proxy-ca.crt/.key, front-proxy-client.crt/.key   aggregation layer (requestheader)
//	sa.key sa.pub                     service-account token signing key pair

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

type leaf struct {
	name, cn string
	orgs     []string
	server   bool
}

func pkiMain(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: kubecp pki DIR")
		return 2
	}
	if err := writePKI(args[0]); err != nil {
		fmt.Fprintln(os.Stderr, "pki:", err)
		return 1
	}
	return 0
}

func writePKI(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, caKey, err := loadOrCreateCA(dir, "ca", "osk-test-cluster-ca")
	if err != nil {
		return err
	}
	for _, l := range []leaf{
		{name: "apiserver", cn: "kube-apiserver", server: true},
		{name: "admin", cn: "osk-admin", orgs: []string{"system:masters"}},
		{name: "controller-manager", cn: "system:kube-controller-manager"},
		{name: "scheduler", cn: "system:kube-scheduler"},
		{name: "kwok", cn: "kwok-controller", orgs: []string{"system:masters"}},
		{name: "kubelet", cn: "system:node:real-node-1", orgs: []string{"system:nodes"}},
		{name: "kube-proxy", cn: "system:kube-proxy"},
	} {
		if err := ensureLeaf(dir, l, ca, caKey); err != nil {
			return err
		}
	}
	fpCA, fpKey, err := loadOrCreateCA(dir, "front-proxy-ca", "osk-test-front-proxy-ca")
	if err != nil {
		return err
	}
	if err := ensureLeaf(dir, leaf{name: "front-proxy-client", cn: "front-proxy-client"}, fpCA, fpKey); err != nil {
		return err
	}
	if exists(filepath.Join(dir, "sa.key")) && exists(filepath.Join(dir, "sa.pub")) {
		return nil
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, "sa.key"), saKey); err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, "sa.pub"), "PUBLIC KEY", pub, 0o644)
}

func loadOrCreateCA(dir, name, cn string) (*x509.Certificate, crypto.Signer, error) {
	crtPath, keyPath := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if exists(crtPath) && exists(keyPath) {
		return load(crtPath, keyPath)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(crtPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	return load(crtPath, keyPath)
}

func ensureLeaf(dir string, l leaf, ca *x509.Certificate, caKey crypto.Signer) error {
	crtPath, keyPath := filepath.Join(dir, l.name+".crt"), filepath.Join(dir, l.name+".key")
	if exists(crtPath) && exists(keyPath) {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.cn, Organization: l.orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if l.server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP("10.96.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return err
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	return writePEM(crtPath, "CERTIFICATE", der, 0o644)
}

func load(crtPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	crtPEM, err := os.ReadFile(crtPath)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(crtPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("bad PEM in " + crtPath + " or " + keyPath)
	}
	crt, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, errors.New(keyPath + " is not a signing key")
	}
	return crt, signer, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err)
	}
	return n
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
