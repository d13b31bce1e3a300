// no_tls: a Go program that does not link crypto/tls (the probe finder must
// answer "nothing to probe").
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("no tls here", len(os.Args))
}
