package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// depString renders a PackageDependency for comparison.
func depString(d *pulumirpc.PackageDependency) string {
	s := fmt.Sprintf("%s %s %s", d.GetKind(), d.GetName(), d.GetVersion())
	if d.GetServer() != "" {
		s += " server=" + d.GetServer()
	}
	if p := d.GetParameterization(); p != nil {
		s += fmt.Sprintf(" param=%s@%s:%s", p.GetName(), p.GetVersion(), p.GetValue())
	}
	return s
}

func TestResourcePackages(t *testing.T) {
	const k8s = `{"name":"@pulumi/kubernetes","version":"4.25.0","pulumi":{"resource":true,"name":"kubernetes"}}`
	tests := []struct {
		name  string
		files map[string]string
		dir   string
		want  []string
	}{
		{name: "no node_modules", files: map[string]string{"app/package.json": "{}"}, dir: "app", want: nil},
		{
			name: "only packages that declare a resource plugin",
			files: map[string]string{
				"node_modules/@pulumi/kubernetes/package.json": k8s,
				"node_modules/@pulumi/pulumi/package.json":     `{"name":"@pulumi/pulumi","version":"3.276.0"}`,
				"node_modules/@pulumi/policy/package.json":     `{"name":"@pulumi/policy","version":"1.0.0","pulumi":{"resource":false}}`,
				"node_modules/left-pad/package.json":           `{"name":"left-pad","version":"1.3.0"}`,
				"node_modules/broken/package.json":             `{not json`,
				"node_modules/no-manifest/index.js":            "",
			},
			want: []string{"resource kubernetes 4.25.0"},
		},
		{
			name: "name and version default to the package's, without @pulumi/",
			files: map[string]string{
				"node_modules/@pulumi/docker-build/package.json": `{"name":"@pulumi/docker-build","version":"0.0.22","pulumi":{"resource":true}}`,
				"node_modules/acme-provider/package.json":        `{"name":"acme-provider","version":"2.0.0","pulumi":{"resource":true,"version":"2.0.1","server":"https://example.com/plugins"}}`,
			},
			want: []string{"resource acme-provider 2.0.1 server=https://example.com/plugins", "resource docker-build 0.0.22"},
		},
		{
			name: "found from a subdirectory, nested node_modules too",
			files: map[string]string{
				"node_modules/@pulumi/kubernetes/package.json":                  k8s,
				"node_modules/lib/package.json":                                 `{"name":"lib","version":"1.0.0"}`,
				"node_modules/lib/node_modules/@pulumi/kubernetes/package.json": `{"name":"@pulumi/kubernetes","version":"4.18.0","pulumi":{"resource":true,"name":"kubernetes"}}`,
				"node_modules/lib/node_modules/@pulumi/random/package.json":     `{"name":"@pulumi/random","version":"4.16.0","pulumi":{"resource":true}}`,
				"infra/stacks/readme.md":                                        "",
			},
			dir:  "infra/stacks",
			want: []string{"resource kubernetes 4.18.0", "resource kubernetes 4.25.0", "resource random 4.16.0"},
		},
		{
			name: "the same plugin twice is listed once",
			files: map[string]string{
				"node_modules/@pulumi/kubernetes/package.json":                  k8s,
				"node_modules/lib/node_modules/@pulumi/kubernetes/package.json": k8s,
			},
			want: []string{"resource kubernetes 4.25.0"},
		},
		{
			name: "parameterized packages, with a valid value only",
			files: map[string]string{
				"node_modules/@pulumi/terraform-provider/package.json": `{"name":"@pulumi/tf","version":"0.1.0","pulumi":{"resource":true,"name":"terraform-provider",` +
					`"parameterization":{"name":"aws","version":"5.0.0","value":"e30="}}}`,
				"node_modules/@pulumi/bad-param/package.json": `{"name":"@pulumi/bad-param","version":"0.1.0","pulumi":{"resource":true,` +
					`"parameterization":{"name":"x","version":"1.0.0","value":"%%%"}}}`,
			},
			want: []string{"resource bad-param 0.1.0", "resource terraform-provider 0.1.0 param=aws@5.0.0:{}"},
		},
		{
			name: "dot directories are skipped",
			files: map[string]string{
				"node_modules/.cache/x/package.json": `{"name":"x","version":"1.0.0","pulumi":{"resource":true}}`,
				"node_modules/.bin/package.json":     `{"name":"y","version":"1.0.0","pulumi":{"resource":true}}`,
			},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files)
			deps, err := resourcePackages(filepath.Join(root, tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range deps {
				got = append(got, depString(d))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("resourcePackages =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

// pnpm's layout: node_modules/@pulumi/<name> are symlinks into node_modules/.pnpm, which is
// itself skipped; each package is read once through its real path.
func TestResourcePackagesFollowsSymlinks(t *testing.T) {
	root := t.TempDir()
	store := "node_modules/.pnpm/@pulumi+kubernetes@4.25.0/node_modules/@pulumi/kubernetes"
	writeFiles(t, root, map[string]string{
		store + "/package.json": `{"name":"@pulumi/kubernetes","version":"4.25.0","pulumi":{"resource":true,"name":"kubernetes"}}`,
	})
	for _, link := range []string{"node_modules/@pulumi/kubernetes", "node_modules/k8s-alias"} {
		full := filepath.Join(root, link)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(root, store), full); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "missing"), filepath.Join(root, "node_modules", "dangling")); err != nil {
		t.Fatal(err)
	}
	deps, err := resourcePackages(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 || depString(deps[0]) != "resource kubernetes 4.25.0" {
		t.Errorf("resourcePackages = %v, want kubernetes 4.25.0 once", deps)
	}
}

// nodeModulesTree writes a program tree for TestNearestNodeModules and TestPackageDirs: a
// node_modules at the root (with packages, a scoped one without package.json, .bin and the
// lock file), one in app/, and in other/ a file named node_modules.
func nodeModulesTree(t *testing.T) string {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"node_modules/a/package.json":              "{}",
		"node_modules/@pulumi/pulumi/package.json": "{}",
		"node_modules/@pulumi/kubernetes/x":        "",
		"node_modules/.bin/tsc":                    "",
		"node_modules/.package-lock.json":          "{}",
		"app/node_modules/b/package.json":          "{}",
		"app/src/index.ts":                         "",
		"other/node_modules":                       "a file, not a directory",
		"other/src/index.ts":                       "",
	})
	return root
}

func TestNearestNodeModules(t *testing.T) {
	root := nodeModulesTree(t)
	tests := map[string]string{
		"":          "node_modules",
		"app":       "app/node_modules",
		"app/src":   "app/node_modules",
		"other/src": "node_modules",
	}
	for dir, want := range tests {
		if got := nearestNodeModules(filepath.Join(root, dir)); got != filepath.Join(root, want) {
			t.Errorf("nearestNodeModules(%q) = %s, want %s", dir, got, filepath.Join(root, want))
		}
	}
}

func TestPackageDirs(t *testing.T) {
	nm := filepath.Join(nodeModulesTree(t), "node_modules")
	var got []string
	for _, d := range packageDirs(nm) {
		rel, _ := filepath.Rel(nm, d)
		got = append(got, filepath.ToSlash(rel))
	}
	want := []string{"@pulumi/kubernetes", "@pulumi/pulumi", "a"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("packageDirs = %q, want %q", got, want)
	}
	if got := packageDirs(filepath.Join(nm, "missing")); got != nil {
		t.Errorf("packageDirs(missing) = %q, want nil", got)
	}
}

func TestReadPackageJSON(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"bad/package.json": "{", "good/package.json": `{"name":"x","version":"1.2.3"}`})
	if p, err := readPackageJSON(filepath.Join(dir, "good/package.json")); err != nil || p.Name != "x" || p.Version != "1.2.3" {
		t.Errorf("good: %+v, %v", p, err)
	}
	bad := filepath.Join(dir, "bad/package.json")
	if _, err := readPackageJSON(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad: error %v does not name %s", err, bad)
	}
	if _, err := readPackageJSON(filepath.Join(dir, "none/package.json")); !os.IsNotExist(err) {
		t.Errorf("missing: error %v, want not-exist", err)
	}
}

func TestGetRequiredPackagesAndPlugins(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"node_modules/@pulumi/kubernetes/package.json": `{"name":"@pulumi/kubernetes","version":"4.25.0","pulumi":{"resource":true,"name":"kubernetes"}}`,
		"node_modules/@pulumi/tf/package.json": `{"name":"@pulumi/tf","version":"0.1.0","pulumi":{"resource":true,"name":"terraform-provider",` +
			`"parameterization":{"name":"aws","version":"5.0.0","value":"e30="}}}`,
	})
	h := &host{}
	pkgs, err := h.GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: root},
	})
	if err != nil || len(pkgs.GetPackages()) != 2 {
		t.Fatalf("GetRequiredPackages = %v, %v; want both packages", pkgs, err)
	}
	// Plugins: a parameterized package is not a plugin of its own; the pwd is the fallback directory.
	plugins, err := h.GetRequiredPlugins(context.Background(), &pulumirpc.GetRequiredPluginsRequest{Pwd: root})
	if err != nil {
		t.Fatal(err)
	}
	if p := plugins.GetPlugins(); len(p) != 1 || p[0].GetName() != "kubernetes" || p[0].GetKind() != "resource" ||
		p[0].GetVersion() != "4.25.0" {
		t.Errorf("GetRequiredPlugins = %v, want kubernetes 4.25.0 only", p)
	}
}

func TestGetProgramDependencies(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"package.json": `{"dependencies":{"@pulumi/pulumi":"^3.276.0","missing":"~1.0.0"},` +
			`"devDependencies":{"vitest":"^3.0.0"}}`,
		"node_modules/@pulumi/pulumi/package.json": `{"name":"@pulumi/pulumi","version":"3.276.0"}`,
		"node_modules/vitest/package.json":         `{"name":"vitest","version":"3.2.4"}`,
	})
	resp, err := (&host{}).GetProgramDependencies(context.Background(), &pulumirpc.GetProgramDependenciesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: root},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range resp.GetDependencies() {
		got = append(got, d.GetName()+"@"+d.GetVersion())
	}
	// Installed version where installed, else the declared range; sorted by name.
	want := []string{"@pulumi/pulumi@3.276.0", "missing@~1.0.0", "vitest@3.2.4"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetProgramDependencies = %q, want %q", got, want)
	}

	_, err = (&host{}).GetProgramDependencies(context.Background(), &pulumirpc.GetProgramDependenciesRequest{Pwd: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "reading the program's package.json") {
		t.Errorf("without package.json: error %v", err)
	}
}
