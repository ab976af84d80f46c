// Command probe prints zxcvbn-go's entropy for each line of stdin: lazyinit_test.go runs it built
// with and without the patch and compares.
package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/ccojocar/zxcvbn-go"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		m := zxcvbn.PasswordStrength(in.Text(), nil)
		fmt.Printf("%q %v %d %d\n", in.Text(), m.Entropy, m.Score, len(m.MatchSequence))
	}
}
