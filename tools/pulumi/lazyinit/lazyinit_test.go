package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Values pulumi's own looksLikeSecret tests score, secret-like and not, and inputs that reach
// every matcher (dictionary, l33t, spatial, repeat, sequence, dates, user words).
var inputs = []string{
	"1415fc1f4eaeb5e096ee58c1480016638fff29bf", "1415fc1f4eaeb5e0", "password", "P@ssw0rd",
	"correcthorsebatterystaple", "qwertyuiop", "zxcvbnm,./", "aaaaaaaa", "abcdefgh", "13579",
	"12/25/1999", "19991225", "johnsmith", "delivery", "staging", "http://localhost:8080",
	"ghp_16C7e42F292c6912E7710c838347Ae178B4a", "", "ü€漢字",
}

// build compiles testdata/probe, with -modfile when modfile is not empty.
func build(t *testing.T, modfile string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "probe")
	args := []string{"build", "-mod=readonly", "-o", bin}
	if modfile != "" {
		args = append(args, "-modfile", modfile)
	}
	cmd := exec.Command("go", append(args, "./testdata/probe/main.go")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// run feeds the inputs to a probe; it returns stdout and the init trace's bytes per package.
func run(t *testing.T, bin string) (string, map[string]int) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader(strings.Join(inputs, "\n") + "\n")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
	}
	// "init github.com/ccojocar/zxcvbn-go/frequency @1.2 ms, 60 ms clock, 10262960 bytes, 40 allocs"
	bytes := map[string]int{}
	re := regexp.MustCompile(`(?m)^init (\S+) .* (\d+) bytes,`)
	for _, m := range re.FindAllStringSubmatch(stderr.String(), -1) {
		n, _ := strconv.Atoi(m[2])
		bytes[m[1]] = n
	}
	return string(out), bytes
}

func TestPatchKeepsScoresAndDropsInitWork(t *testing.T) {
	modfile, err := write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want, before := run(t, build(t, ""))
	got, after := run(t, build(t, modfile))
	if got != want {
		t.Errorf("scores differ with the patched copy:\nwithout:\n%s\nwith:\n%s", want, got)
	}
	if n := strings.Count(got, "\n"); n != len(inputs) {
		t.Errorf("the probe scored %d values, want %d", n, len(inputs))
	}
	for _, pkg := range []string{module + "/frequency", module + "/matching"} {
		if before[pkg] < 1<<20 {
			t.Errorf("without the patch, %s's init allocated %d bytes; expected its tables (> 1 MiB)", pkg, before[pkg])
		}
		if after[pkg] > 64<<10 {
			t.Errorf("with the patch, %s's init still allocated %d bytes", pkg, after[pkg])
		}
	}
}

func TestApplyNamesEveryEditThatDoesNotMatchOnce(t *testing.T) {
	_, err := apply("a b b", []edit{{"a", "x"}, {"b", "y"}, {"c", "z"}})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`"b" occurs 2 times, expected once`, `"c" occurs 0 times, expected once`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %s", err, want)
		}
	}
	if got, err := apply("a b", []edit{{"a", "x"}, {"b", "y"}}); err != nil || got != "x y" {
		t.Errorf("apply = %q, %v; want \"x y\", nil", got, err)
	}
}
