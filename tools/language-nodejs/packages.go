package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// packageJSON is the part of a package.json that the host reads.
type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          *struct {
		Resource         bool   `json:"resource"`
		Name             string `json:"name"`
		Version          string `json:"version"`
		Server           string `json:"server"`
		Parameterization *struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Value   string `json:"value"`
		} `json:"parameterization"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// nearestNodeModules returns the first node_modules directory at or above dir.
func nearestNodeModules(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		nm := filepath.Join(d, "node_modules")
		if st, err := os.Stat(nm); err == nil && st.IsDir() {
			return nm
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// packageDirs lists the package directories directly inside a node_modules
// directory (`name` and `@scope/name`).
func packageDirs(nm string) []string {
	entries, err := os.ReadDir(nm)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(nm, name)
		if strings.HasPrefix(name, "@") {
			scoped, err := os.ReadDir(p)
			if err != nil {
				continue
			}
			for _, s := range scoped {
				dirs = append(dirs, filepath.Join(p, s.Name()))
			}
			continue
		}
		dirs = append(dirs, p)
	}
	return dirs
}

// resourcePackages walks the project's node_modules (and nested node_modules
// of packages, for packages npm could not hoist) for packages that declare a
// resource plugin in their package.json `pulumi` section.
func resourcePackages(dir string) ([]*pulumirpc.PackageDependency, error) {
	nm := nearestNodeModules(dir)
	if nm == "" {
		return nil, nil
	}
	seen := map[string]bool{}
	found := map[string]*pulumirpc.PackageDependency{}
	var walk func(nm string, depth int)
	walk = func(nm string, depth int) {
		if depth > 8 {
			return
		}
		for _, p := range packageDirs(nm) {
			real, err := filepath.EvalSymlinks(p)
			if err != nil || seen[real] {
				continue
			}
			seen[real] = true
			if pkg, err := readPackageJSON(filepath.Join(real, "package.json")); err == nil &&
				pkg.Pulumi != nil && pkg.Pulumi.Resource {
				name := pkg.Pulumi.Name
				if name == "" {
					name = strings.TrimPrefix(pkg.Name, "@pulumi/")
				}
				ver := pkg.Pulumi.Version
				if ver == "" {
					ver = pkg.Version
				}
				dep := &pulumirpc.PackageDependency{
					Name:    name,
					Kind:    "resource",
					Version: ver,
					Server:  pkg.Pulumi.Server,
				}
				key := name + "@" + ver + "@" + pkg.Pulumi.Server
				if pz := pkg.Pulumi.Parameterization; pz != nil {
					value, err := base64.StdEncoding.DecodeString(pz.Value)
					if err == nil {
						dep.Parameterization = &pulumirpc.PackageParameterization{
							Name: pz.Name, Version: pz.Version, Value: value,
						}
						key += "@" + pz.Name + "@" + pz.Version
					}
				}
				found[key] = dep
			}
			nested := filepath.Join(real, "node_modules")
			if st, err := os.Stat(nested); err == nil && st.IsDir() {
				walk(nested, depth+1)
			}
		}
	}
	walk(nm, 0)

	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	deps := make([]*pulumirpc.PackageDependency, 0, len(keys))
	for _, k := range keys {
		deps = append(deps, found[k])
	}
	return deps, nil
}

func (h *host) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	deps, err := resourcePackages(programDir(req.GetInfo(), ""))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

func (h *host) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	deps, err := resourcePackages(programDir(req.GetInfo(), req.GetPwd()))
	if err != nil {
		return nil, err
	}
	var plugins []*pulumirpc.PluginDependency
	for _, d := range deps {
		if d.Parameterization != nil {
			continue
		}
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: d.Name, Kind: d.Kind, Version: d.Version, Server: d.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

func (h *host) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd())
	pkg, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("reading the program's package.json: %w", err)
	}
	names := map[string]bool{}
	for n := range pkg.Dependencies {
		names[n] = true
	}
	for n := range pkg.DevDependencies {
		names[n] = true
	}
	nm := nearestNodeModules(dir)
	var deps []*pulumirpc.DependencyInfo
	for n := range names {
		ver := ""
		if nm != "" {
			if p, err := readPackageJSON(filepath.Join(nm, n, "package.json")); err == nil {
				ver = p.Version
			}
		}
		if ver == "" {
			ver = pkg.Dependencies[n] + pkg.DevDependencies[n]
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: n, Version: ver})
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}
