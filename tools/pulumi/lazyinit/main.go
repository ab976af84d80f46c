// Command lazyinit writes a go.mod for `go build -modfile` that makes the engine's password-strength
// tables load on first use instead of at process start.
//
// Why: `pulumi config set` warns when a plain value looks like a secret, scoring it with
// github.com/ccojocar/zxcvbn-go. That module decompresses and indexes its word lists in package
// init functions, so every `pulumi` process pays for them (GODEBUG=inittrace=1: the frequency
// and matching packages allocate ~18 MB and take ~60 ms of CPU per run here) although only
// `config set` and `env set` ever score a value. The CI run starts the engine ~1,250 times.
//
// How: a patched copy of the pinned version, used through a replace directive in an alternate
// go.mod (the clone's go.mod and go.sum stay as they are). The module's own Omnimatch already loads the matchers lazily when they are missing; this
// removes the two init functions and routes that lazy path through a sync.Once. The edits are
// exact-text replacements of the pinned version's source (copied from the module cache at
// build time, never into this repository); each must match exactly once, so a changed upstream file
// fails the build instead of being patched wrongly. lazyinit_test.go checks that the scores are
// unchanged and that the init work is gone.
//
// Run in tools/pulumi:
//
//	go run ./lazyinit -out DIR   # prints DIR/go.mod, to pass as go build -modfile
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const module = "github.com/ccojocar/zxcvbn-go"

// edit replaces old by new in one file of the module; old must occur exactly once.
type edit struct{ old, new string }

// patches: the module's files and their edits.
var patches = map[string][]edit{
	"frequency/frequency.go": {
		// The lists are read by loadLists (below), not at init.
		{"func init() {", "func loadFromAssets() {"},
	},
	"matching/matching.go": {
		{"func init() {\n\tloadFrequencyList()\n}\n", ""},
		{"\t\tloadFrequencyList()\n", "\t\tloadOnce.Do(loadFrequencyList)\n"},
		{"range frequency.Lists {", "range frequency.Loaded() {"},
	},
}

// added: files of our own added to the module's packages.
var added = map[string]string{
	"frequency/lazyinit_delivery.go": `package frequency

import "sync"

var loadOnce sync.Once

// Loaded returns Lists, filled on the first call (added by delivery's tools/pulumi/lazyinit).
func Loaded() map[string]List {
	loadOnce.Do(loadFromAssets)
	return Lists
}
`,
	"matching/lazyinit_delivery.go": `package matching

import "sync"

// loadOnce guards Omnimatch's first-use load (added by delivery's tools/pulumi/lazyinit).
var loadOnce sync.Once
`,
}

func main() {
	out := flag.String("out", "", "directory to write the patched module copy, go.mod and go.sum into")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "lazyinit: -out DIR is required")
		os.Exit(2)
	}
	path, err := write(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lazyinit:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

// write copies the pinned module into out/zxcvbn-go with the edits and the added files, and
// writes out/go.mod and out/go.sum: this module's, plus a replace directive pointing at the copy.
// It returns out/go.mod, to pass as go build -modfile. (go build -overlay cannot do this: it
// refuses to replace files in the module cache.)
func write(out string) (string, error) {
	dir, err := moduleDir()
	if err != nil {
		return "", err
	}
	copyDir := filepath.Join(out, "zxcvbn-go")
	if err := os.RemoveAll(copyDir); err != nil {
		return "", err
	}
	var problems []error
	err = filepath.WalkDir(dir, func(src string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, src)
		text, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if edits, ok := patches[filepath.ToSlash(rel)]; ok {
			patched, err := apply(string(text), edits)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", src, err))
			}
			text = []byte(patched)
		}
		return writeFile(filepath.Join(copyDir, rel), string(text))
	})
	if err != nil {
		return "", err
	}
	for rel := range patches {
		if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
			problems = append(problems, err)
		}
	}
	if err := errors.Join(problems...); err != nil {
		return "", fmt.Errorf("%w\n(the pinned %s changed; update tools/pulumi/lazyinit)", err, module)
	}
	for rel, text := range added {
		if err := writeFile(filepath.Join(copyDir, rel), text); err != nil {
			return "", err
		}
	}
	mainMod, err := goEnv("GOMOD")
	if err != nil {
		return "", err
	}
	mod, err := os.ReadFile(mainMod)
	if err != nil {
		return "", err
	}
	sum, err := os.ReadFile(strings.TrimSuffix(mainMod, ".mod") + ".sum")
	if err != nil {
		return "", err
	}
	gomod := filepath.Join(out, "go.mod")
	replace := fmt.Sprintf("\n// Added by lazyinit: the pinned version with its word lists loaded on first use.\nreplace %s => %s\n", module, copyDir)
	if err := writeFile(gomod, string(mod)+replace); err != nil {
		return "", err
	}
	return gomod, writeFile(filepath.Join(out, "go.sum"), string(sum))
}

// apply makes each edit, failing unless its old text occurs exactly once.
func apply(text string, edits []edit) (string, error) {
	var problems []error
	for _, e := range edits {
		if n := strings.Count(text, e.old); n != 1 {
			problems = append(problems, fmt.Errorf("%q occurs %d times, expected once", e.old, n))
			continue
		}
		text = strings.Replace(text, e.old, e.new, 1)
	}
	return text, errors.Join(problems...)
}

// moduleDir is the module cache directory of the zxcvbn-go version this module pins
// (downloaded if the cache does not hold it yet).
func moduleDir() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(b, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory (%s)", module, info.Error)
	}
	return info.Dir, nil
}

// goEnv is one go env variable, e.g. GOMOD, the go.mod of the module this runs in.
func goEnv(name string) (string, error) {
	b, err := exec.Command("go", "env", name).Output()
	if v := strings.TrimSpace(string(b)); err == nil && v != "" && v != os.DevNull {
		return v, nil
	}
	return "", fmt.Errorf("go env %s: %v (run in tools/pulumi)", name, err)
}

func writeFile(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
