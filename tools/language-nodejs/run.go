package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// exitCodeErrorAlreadyLogged is the exit code @pulumi/pulumi/cmd/run uses when
// the program failed and the error was already reported through the engine.
const exitCodeErrorAlreadyLogged = 32

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if req.GetAttachDebugger() {
		return nil, status.Error(codes.Unimplemented, "attaching a debugger is not supported by this language host")
	}
	info := req.GetInfo()
	pwd := programDir(info, req.GetPwd())
	opts := h.options(info.GetOptions())
	entry := entryPoint(req)

	node, args, err := nodeScript(pwd, opts.nodeargs, "run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()
	args = append(args, runArgs(req, pwd, entry, engine, h.tracing)...)

	env, err := runEnv(os.Environ(), req, opts)
	if err != nil {
		return nil, err
	}

	cmd := exec.Command(node, args...)
	cmd.Dir = pwd
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	logging.V(5).Infof("language host: running %s %v in %s", node, args, pwd)
	if err := cmd.Start(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start node: %v", err)}, nil
	}
	h.track(cmd, true)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Kill()
		case <-done:
		}
	}()
	err = cmd.Wait()
	close(done)
	h.track(cmd, false)

	return runResponse(err), nil
}

// entryPoint is the program to run: ProgramInfo's entry point, else the
// request's program, else "." (the package's main).
func entryPoint(req *pulumirpc.RunRequest) string {
	entry := req.GetProgram()
	if req.GetInfo().GetEntryPoint() != "" {
		entry = req.GetInfo().GetEntryPoint()
	}
	if entry == "" {
		entry = "."
	}
	return entry
}

// runArgs are cmd/run's arguments after the script: its flags, the entry point,
// then the program's own arguments. engine and tracing are left out when empty.
func runArgs(req *pulumirpc.RunRequest, pwd, entry, engine, tracing string) []string {
	args := []string{
		"--monitor=" + req.GetMonitorAddress(),
		"--project=" + req.GetProject(),
		"--stack=" + req.GetStack(),
		"--pwd=" + pwd,
	}
	if engine != "" {
		args = append(args, "--engine="+engine)
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization="+req.GetOrganization())
	}
	if req.GetInfo().GetRootDirectory() != "" {
		args = append(args, "--root-directory="+req.GetInfo().GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		args = append(args, "--parallel="+strconv.Itoa(int(req.GetParallel())))
	}
	if tracing != "" {
		args = append(args, "--tracing="+tracing)
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}

// runEnv is environ plus what cmd/run reads: the config and its secret keys as
// JSON (an empty object and list when the engine sends none), whether to
// register TypeScript, and the tsconfig path when one is set.
func runEnv(environ []string, req *pulumirpc.RunRequest, opts runtimeOptions) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}

	env := append(environ,
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(opts.typescript),
	)
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	return env, nil
}

// runResponse turns how node ended (cmd.Wait's error) into Run's answer: a
// signal or a non-zero exit is an error, except exit code 32, which asks the
// engine to bail because the program reported its error already.
func runResponse(err error) *pulumirpc.RunResponse {
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited due to signal: %v", ws.Signal())}
		}
		if exitErr.ExitCode() == exitCodeErrorAlreadyLogged {
			return &pulumirpc.RunResponse{Bail: true}
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}
	}
	return &pulumirpc.RunResponse{Error: err.Error()}
}
