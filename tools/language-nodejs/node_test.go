package main

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFindPulumiPackage(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		dir      string // under the temp root
		nodePath string // under the temp root; "" for none
		want     string // under the temp root; "" for not found
	}{
		{name: "in the program directory", files: sdkFiles("app/"), dir: "app", want: "app/node_modules/@pulumi/pulumi"},
		{name: "in an ancestor", files: sdkFiles(""), dir: "app/infra", want: "node_modules/@pulumi/pulumi"},
		{
			name:  "nearest wins",
			files: merge(sdkFiles(""), sdkFiles("app/")),
			dir:   "app", want: "app/node_modules/@pulumi/pulumi",
		},
		{
			name: "a package without cmd/run is skipped",
			files: merge(sdkFiles(""), map[string]string{
				"app/node_modules/@pulumi/pulumi/package.json": "{}",
			}),
			dir: "app", want: "node_modules/@pulumi/pulumi",
		},
		{
			name:  "NODE_PATH after the tree",
			files: map[string]string{"global/@pulumi/pulumi/cmd/run/index.js": "", "app/x": ""},
			dir:   "app", nodePath: "global", want: "global/@pulumi/pulumi",
		},
		{name: "not installed", files: map[string]string{"app/package.json": "{}"}, dir: "app", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			nodePath := ""
			if tt.nodePath != "" {
				nodePath = filepath.Join(root, tt.nodePath)
			}
			t.Setenv("NODE_PATH", nodePath)
			dir := filepath.Join(root, tt.dir)
			got, err := findPulumiPackage(dir)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("found %s, want an error", got)
				}
				for _, s := range []string{dir, "npm install"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, tt.want); got != want {
				t.Errorf("findPulumiPackage = %s, want %s", got, want)
			}
		})
	}
}

func TestNodeScript(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, sdkFiles(""))
	t.Setenv("NODE_PATH", "")
	node := fakeNode(t, "exit 0")
	sdk := filepath.Join(root, "node_modules", "@pulumi", "pulumi")
	tests := []struct {
		nodeargs, script string
		want             []string
	}{
		{"", "run", []string{filepath.Join(sdk, "cmd", "run")}},
		{"  --max-old-space-size=4096   --trace-warnings ", "run-policy-pack",
			[]string{"--max-old-space-size=4096", "--trace-warnings", filepath.Join(sdk, "cmd", "run-policy-pack")}},
	}
	for _, tt := range tests {
		gotNode, args, err := nodeScript(root, tt.nodeargs, tt.script)
		if err != nil {
			t.Fatal(err)
		}
		if gotNode != node || !reflect.DeepEqual(args, tt.want) {
			t.Errorf("nodeScript(%q, %q) = %s %q, want %s %q", tt.nodeargs, tt.script, gotNode, args, node, tt.want)
		}
	}
}

func TestNodeScriptPreloadsDeferSDK(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, merge(sdkFiles(""), map[string]string{"defer-sdk.js": ""}))
	t.Setenv("NODE_PATH", "")
	node := fakeNode(t, "exit 0")
	sdk := filepath.Join(root, "node_modules", "@pulumi", "pulumi")
	gotNode, args, err := nodeScript(root, "--trace-warnings", "run")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--trace-warnings", "-r", filepath.Join(root, "defer-sdk.js"), filepath.Join(sdk, "cmd", "run")}
	if gotNode != node || !reflect.DeepEqual(args, want) {
		t.Errorf("nodeScript = %s %q, want %s %q", gotNode, args, node, want)
	}
}

func TestNodeScriptErrors(t *testing.T) {
	root := t.TempDir()
	t.Setenv("NODE_PATH", "")
	if _, _, err := nodeScript(root, "", "run"); err == nil || !strings.Contains(err.Error(), "npm install") {
		t.Errorf("without the SDK: error %v, want the `npm install` hint", err)
	}
	writeFiles(t, root, sdkFiles(""))
	t.Setenv("PATH", t.TempDir())
	if _, _, err := nodeScript(root, "", "run"); err == nil || !strings.Contains(err.Error(), "could not find node") {
		t.Errorf("without node: error %v, want `could not find node`", err)
	}
}

func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
