package conn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/sirupsen/logrus"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
	"github.com/ovn-docker/ovn-docker/ovs"
	"github.com/ovn-docker/ovn-docker/ovs/nbdb"
)

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	l.SetLevel(logrus.WarnLevel)
	return l
}

// pki writes a CA and a certificate it signed for name into dir.
type pki struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
}

func newPKI(t *testing.T, dir, name string) *pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &pki{ca: ca, caKey: key, caFile: filepath.Join(dir, name+"-ca.pem")}
	writePEM(t, p.caFile, "CERTIFICATE", der)
	return p
}

// issue returns key and certificate files for a component (OVN style: the
// name is a component, not a host).
func (p *pki) issue(t *testing.T, dir, name string) (keyFile, certFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile, certFile = filepath.Join(dir, name+"-key.pem"), filepath.Join(dir, name+"-cert.pem")
	writePEM(t, keyFile, "PRIVATE KEY", kder)
	writePEM(t, certFile, "CERTIFICATE", der)
	return keyFile, certFile
}

func writePEM(t *testing.T, file, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSSLRemoteVerifiesServer runs ovsdb-server on an ssl: remote and checks
// that a client trusting its CA works and one trusting another CA does not.
func TestSSLRemoteVerifiesServer(t *testing.T) {
	dir := t.TempDir()
	good := newPKI(t, dir, "good")
	other := newPKI(t, dir, "other")
	srvKey, srvCert := good.issue(t, dir, "ovsdb-server")
	cliKey, cliCert := good.issue(t, dir, "ovn-docker")
	db := filepath.Join(dir, "nb.db")
	ovsdbtest.Run(t, "ovsdb-tool", "create", db, "../nbdb/ovn-nb.ovsschema")
	port := freePort(t)
	cmd := exec.Command("ovsdb-server", "--remote=pssl:"+strconv.Itoa(port)+":127.0.0.1",
		"--private-key="+srvKey, "--certificate="+srvCert, "--ca-cert="+good.caFile,
		"--unixctl="+filepath.Join(dir, "ctl"), "-vconsole:off", db)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	remote := "ssl:127.0.0.1:" + strconv.Itoa(port)

	connect := func(caFile string, wait time.Duration) error {
		cfg, err := LoadTLS(cliKey, cliCert, caFile)
		if err != nil {
			t.Fatal(err)
		}
		m, err := model.NewClientDBModel("OVN_Northbound", map[string]model.Model{nbdb.LogicalSwitchTable: &nbdb.LogicalSwitch{}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := New("OVN northbound database", "--nb", m, Config{Endpoints: []string{remote}, TLS: cfg, Log: quietLog()},
			client.WithTable(&nbdb.LogicalSwitch{}))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer func() { cancel(); c.Close() }()
		c.Run(ctx)
		cctx, ccancel := context.WithTimeout(ctx, wait)
		defer ccancel()
		_, err = Select[*nbdb.LogicalSwitch](cctx, c, nbdb.LogicalSwitchTable)
		return err
	}
	if err := connect(good.caFile, 10*time.Second); err != nil {
		t.Fatalf("client trusting the server's CA: %v", err)
	}
	err := connect(other.caFile, 2*time.Second)
	if !errors.Is(err, ovs.ErrUnavailable) {
		t.Fatalf("client trusting another CA connected: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "not signed by the given CA") {
		t.Fatalf("error does not say why: %v", msg)
	}
}

func TestLoadTLSRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	p := newPKI(t, dir, "ca")
	key, cert := p.issue(t, dir, "c")
	if _, err := LoadTLS(key, cert, filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("missing CA accepted")
	}
	if _, err := LoadTLS(key, cert, key); err == nil {
		t.Error("a key as CA accepted")
	}
	if _, err := LoadTLS(cert, cert, p.caFile); err == nil {
		t.Error("a certificate as key accepted")
	}
}
