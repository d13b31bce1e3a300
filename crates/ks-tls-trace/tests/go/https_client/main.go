// https_client: a tiny HTTPS client (net/http + crypto/tls) for the Go TLS
// uprobe tests.
//
//	https_client -url https://127.0.0.1:PORT/path [-proto h1|h2] [-cafile ca.pem | -insecure] [-n 1] [-body text]
//
// -proto h2 negotiates HTTP/2 by ALPN, -proto h1 offers only HTTP/1.1.
// Prints one line per request: "PROTO <proto> STATUS <code> BODY <body>".
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to fetch")
	proto := flag.String("proto", "h2", "h1 or h2")
	caFile := flag.String("cafile", "", "PEM file of trusted CA certificates")
	insecure := flag.Bool("insecure", false, "skip certificate verification")
	n := flag.Int("n", 1, "number of requests (one connection, kept alive)")
	body := flag.String("body", "", "POST this body instead of a GET")
	flag.Parse()

	cfg := &tls.Config{InsecureSkipVerify: *insecure}
	if *caFile != "" {
		pemBytes, err := os.ReadFile(*caFile)
		if err != nil {
			log.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			log.Fatal("no certificates in ", *caFile)
		}
		cfg.RootCAs = pool
	}
	tr := &http.Transport{TLSClientConfig: cfg}
	switch *proto {
	case "h2":
		// A custom TLSClientConfig turns automatic HTTP/2 off unless forced.
		tr.ForceAttemptHTTP2 = true
	case "h1":
		// A non-nil, empty TLSNextProto disables HTTP/2.
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	default:
		log.Fatal("-proto must be h1 or h2")
	}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := 0; i < *n; i++ {
		var resp *http.Response
		var err error
		if *body != "" {
			resp, err = client.Post(*url, "text/plain", strings.NewReader(*body))
		} else {
			resp, err = client.Get(*url)
		}
		if err != nil {
			log.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("PROTO %s STATUS %d BODY %s\n", resp.Proto, resp.StatusCode, b)
	}
}
