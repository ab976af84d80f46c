package main

import (
	"os"
	"path/filepath"
	"testing"
)

// writeFiles creates files under root: path (slash-separated) -> content.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeNode puts an executable `node` running script (a shell script body) first on PATH
// and returns its path.
func fakeNode(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	node := filepath.Join(dir, "node")
	if err := os.WriteFile(node, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return node
}

// sdkFiles are the files that make dir/node_modules/@pulumi/pulumi an installed SDK.
func sdkFiles(prefix string) map[string]string {
	return map[string]string{prefix + "node_modules/@pulumi/pulumi/cmd/run/index.js": ""}
}
