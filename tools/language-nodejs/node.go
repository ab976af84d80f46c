package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// findPulumiPackage finds the @pulumi/pulumi package the program would load:
// node_modules directories from dir upwards, then NODE_PATH.
func findPulumiPackage(dir string) (string, error) {
	var candidates []string
	for d := dir; ; d = filepath.Dir(d) {
		candidates = append(candidates, filepath.Join(d, "node_modules", "@pulumi", "pulumi"))
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, p := range filepath.SplitList(os.Getenv("NODE_PATH")) {
		if p != "" {
			candidates = append(candidates, filepath.Join(p, "@pulumi", "pulumi"))
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "cmd", "run", "index.js")); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("it looks like the Pulumi SDK has not been installed: no node_modules/@pulumi/pulumi "+
		"above %s (nor on NODE_PATH). Have you run `npm install`?", dir)
}

// nodeScript finds node and the @pulumi/pulumi package that the program in dir loads, and
// returns node's path with its leading arguments: the runtime's nodeargs, the SDK's preload
// (sdkPreload), then that package's cmd/<script> entry point (run, run-plugin, run-policy-pack).
func nodeScript(dir, nodeargs, script string) (string, []string, error) {
	node, sdk, err := nodeAndSDK(dir)
	if err != nil {
		return "", nil, err
	}
	args := append(strings.Fields(nodeargs), sdkPreload(sdk, fileExists)...)
	return node, append(args, filepath.Join(sdk, "cmd", script)), nil
}

// sdkPreload is node's `-r` of defer-sdk.js when the project that holds the SDK has one (what it
// puts off: its header), else nothing; pulumi-resource-pulumi-nodejs has the same rule for the
// dynamic providers' process. exists is os.Stat, or a test's stand-in.
func sdkPreload(sdk string, exists func(string) bool) []string {
	project := filepath.Dir(filepath.Dir(filepath.Dir(sdk)))
	if preload := filepath.Join(project, "defer-sdk.js"); exists(preload) {
		return []string{"-r", preload}
	}
	return nil
}

// nodeAndSDK finds node on the PATH and the @pulumi/pulumi package that the program in dir loads.
func nodeAndSDK(dir string) (string, string, error) {
	sdk, err := findPulumiPackage(dir)
	if err != nil {
		return "", "", err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", "", fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	return node, sdk, nil
}
