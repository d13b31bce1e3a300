// https_server: a tiny HTTPS server (net/http + crypto/tls) for the Go TLS
// uprobe tests. HTTP/2 is negotiated by ALPN (net/http does this by itself
// for TLS listeners); HTTP/1.1 clients are served too.
//
//	https_server -addr 127.0.0.1:0 [-cert c.pem -key k.pem] [-ca-out ca.pem] [-plain]
//
// Without -cert/-key a self-signed ECDSA certificate for 127.0.0.1 and
// localhost is made; -ca-out writes it so clients can verify it. The first
// line on stdout is "LISTEN <host:port>". Each request is answered with
// "hello <proto> <method> <path> <request body>". With -log-fds, every
// accepted connection's socket fd is printed on stdout as "CONN <fd>" (the
// eBPF tests compare it with the fd the probes read from the tls.Conn).
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

func selfSigned() (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ks test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	certFile := flag.String("cert", "", "certificate PEM (default: self-signed)")
	keyFile := flag.String("key", "", "private key PEM")
	caOut := flag.String("ca-out", "", "write the self-signed certificate here")
	logFds := flag.Bool("log-fds", false, "print \"CONN <fd>\" for each accepted connection")
	plain := flag.Bool("plain", false, "serve HTTP/1.1 in the clear (the twin of a TLS run)")
	flag.Parse()

	var cert tls.Certificate
	if *certFile != "" {
		var err error
		if cert, err = tls.LoadX509KeyPair(*certFile, *keyFile); err != nil {
			log.Fatal(err)
		}
	} else {
		var caPEM []byte
		cert, caPEM = selfSigned()
		if *caOut != "" {
			if err := os.WriteFile(*caOut, caPEM, 0o644); err != nil {
				log.Fatal(err)
			}
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "hello %s %s %s %s", r.Proto, r.Method, r.URL.Path, body)
		}),
	}
	if *logFds {
		srv.ConnState = func(c net.Conn, st http.ConnState) {
			if st != http.StateNew {
				return
			}
			tc, ok := c.(*tls.Conn)
			if !ok {
				return
			}
			sc, ok := tc.NetConn().(syscall.Conn)
			if !ok {
				return
			}
			if raw, err := sc.SyscallConn(); err == nil {
				raw.Control(func(fd uintptr) {
					fmt.Printf("CONN %d\n", fd)
				})
			}
		}
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	os.Stdout.Sync()
	if *plain {
		log.Fatal(srv.Serve(ln))
	}
	// ServeTLS configures "h2" and "http/1.1" in NextProtos.
	log.Fatal(srv.ServeTLS(ln, "", ""))
}
