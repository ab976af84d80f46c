package main

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RunPlugin runs a plugin written in Node.js from its directory: a policy pack
// (kind "analyzer", started for `--policy-pack`) through @pulumi/pulumi's
// cmd/run-policy-pack, any other kind through cmd/run-plugin. The engine reads
// the plugin's gRPC port from the first line of the streamed stdout.
func (h *host) RunPlugin(
	req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	if req.GetAttachDebugger() {
		return status.Error(codes.Unimplemented, "attaching a debugger is not supported by this language host")
	}
	info := req.GetInfo()
	dir := programDir(info, req.GetProgram())
	opts := h.options(info.GetOptions())
	script, pluginArgs := pluginCommand(req.GetKind(), dir, req.GetArgs())
	var node string
	var args []string
	var err error
	if req.GetKind() == "analyzer" && !opts.typescript {
		node, args, err = policyRunnerCommand(dir, opts.nodeargs)
	} else {
		node, args, err = nodeScript(dir, opts.nodeargs, script)
	}
	if err != nil {
		return err
	}
	args = append(args, pluginArgs...)

	cmd := exec.CommandContext(server.Context(), node, args...)
	cmd.Dir = dir
	if req.GetPwd() != "" {
		cmd.Dir = req.GetPwd()
	}
	cmd.Env = append(os.Environ(), req.GetEnv()...)
	var mu sync.Mutex
	cmd.Stdout = streamWriter[pulumirpc.RunPluginResponse]{&mu, server.Send, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	}}
	cmd.Stderr = streamWriter[pulumirpc.RunPluginResponse]{&mu, server.Send, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	}}
	h.track(cmd, true)
	defer h.track(cmd, false)
	code := int32(0)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return fmt.Errorf("running %s plugin %s: %w", req.GetKind(), dir, err)
		}
		code = int32(exit.ExitCode())
	}
	mu.Lock()
	defer mu.Unlock()
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

// pluginCommand is the @pulumi/pulumi script that runs a plugin of this kind
// from dir, and the arguments that follow the script.
func pluginCommand(kind, dir string, reqArgs []string) (string, []string) {
	if kind == "analyzer" {
		// usage: run-policy-pack <engine-address> <program>; the engine sends its address as the only arg.
		return "run-policy-pack", append(append([]string{}, reqArgs...), dir)
	}
	return "run-plugin", append([]string{dir}, reqArgs...)
}

// policyRunner runs a policy pack whose PulumiPolicy.yaml sets runtime.options.typescript: false
// (policyrunner.js says how it differs from @pulumi/pulumi's cmd/run-policy-pack).
//
//go:embed policyrunner.js
var policyRunner string

// policyRunnerCommand is node with its leading arguments for such a pack in dir: the runtime's
// nodeargs, the SDK's preload (sdkPreload), then the runner and the SDK's directory. The engine
// address and the pack (pluginCommand) follow.
func policyRunnerCommand(dir, nodeargs string) (string, []string, error) {
	node, sdk, err := nodeAndSDK(dir)
	if err != nil {
		return "", nil, err
	}
	return node, policyRunnerArgs(sdk, nodeargs, fileExists), nil
}

// policyRunnerArgs: see policyRunnerCommand (exists is os.Stat, or a test's stand-in).
func policyRunnerArgs(sdk, nodeargs string, exists func(string) bool) []string {
	args := append(strings.Fields(nodeargs), sdkPreload(sdk, exists)...)
	return append(args, "-e", policyRunner, "--", sdk)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
