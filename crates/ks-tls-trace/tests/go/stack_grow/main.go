// stack_grow: makes crypto/tls.(*Conn).Write's prologue grow the goroutine
// stack (runtime.morestack restarts the function from its first
// instruction, so an entry uprobe fires twice for one call).
//
//	stack_grow [-n 400]
//
// A TLS server and client in one process over loopback. For each depth d in
// [0, n) a fresh goroutine (small initial stack) recurses d small frames
// and then writes "msg-<d>\n" with one (*Conn).Write; at some depths the
// stack is just too small for Write's frame. The server counts the lines it
// receives and the program prints "GOT <n>".
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"math/big"
	"time"
)

//go:noinline
func recurse(d int, f func()) int {
	var pad [6]int
	pad[d%6] = d
	if d == 0 {
		f()
		return pad[0]
	}
	return recurse(d-1, f) + pad[d%6]
}

func main() {
	n := flag.Int("n", 400, "number of writes (recursion depths 0..n-1)")
	flag.Parse()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		log.Fatal(err)
	}
	got := make(chan int)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		r := bufio.NewReader(c)
		count := 0
		for count < *n {
			if _, err := r.ReadString('\n'); err != nil {
				log.Fatal(err)
			}
			count++
		}
		got <- count
	}()

	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		log.Fatal(err)
	}
	for d := 0; d < *n; d++ {
		done := make(chan struct{})
		// Formatted here: fmt's deeper frames would grow the stack before Write.
		msg := []byte(fmt.Sprintf("msg-%04d\n", d))
		go func() {
			recurse(d, func() {
				if _, err := c.Write(msg); err != nil {
					log.Fatal(err)
				}
			})
			close(done)
		}()
		<-done
	}
	fmt.Printf("GOT %d\n", <-got)
	c.Close()
}
