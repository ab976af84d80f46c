package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := programDir(req.GetInfo(), req.GetDirectory())
	opts := h.options(req.GetInfo().GetOptions())
	pm := packageManager(dir, opts.packagemanager)
	bin, err := exec.LookPath(pm)
	if err != nil {
		return fmt.Errorf("could not find %s on the $PATH: %w", pm, err)
	}
	args := installArgs(pm)
	var mu sync.Mutex
	var stdout io.Writer = streamWriter[pulumirpc.InstallDependenciesResponse]{&mu, server.Send, func(b []byte) *pulumirpc.InstallDependenciesResponse {
		return &pulumirpc.InstallDependenciesResponse{Stdout: b}
	}}
	var stderr io.Writer = streamWriter[pulumirpc.InstallDependenciesResponse]{&mu, server.Send, func(b []byte) *pulumirpc.InstallDependenciesResponse {
		return &pulumirpc.InstallDependenciesResponse{Stderr: b}
	}}
	cmd := exec.CommandContext(server.Context(), bin, args...)
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s install failed: %w", pm, err)
	}
	return nil
}

// packageManager is the configured package manager, or for "" and "auto" the
// one whose lock file is in dir (yarn, pnpm, bun, in that order), else npm.
func packageManager(dir, configured string) string {
	if configured != "" && configured != "auto" {
		return configured
	}
	switch {
	case exists(filepath.Join(dir, "yarn.lock")):
		return "yarn"
	case exists(filepath.Join(dir, "pnpm-lock.yaml")):
		return "pnpm"
	case exists(filepath.Join(dir, "bun.lockb")), exists(filepath.Join(dir, "bun.lock")):
		return "bun"
	default:
		return "npm"
	}
}

// installArgs are the package manager's arguments: `install`, quiet for npm.
func installArgs(pm string) []string {
	args := []string{"install"}
	if pm == "npm" {
		args = append(args, "--no-audit", "--no-fund")
	}
	return args
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
