// Command pulumi-language-nodejs is the Node.js language host that the Pulumi
// engine starts for projects with `runtime: nodejs`.
//
// It is this project's own implementation of the LanguageRuntime gRPC service
// (sdk/v3/proto/language.proto), kept small on purpose: it runs the program
// through the `cmd/run` entry point of the @pulumi/pulumi package installed in
// the project (which does the TypeScript registration, config and monitor
// wiring), reports the resource plugins that the installed @pulumi/* packages
// need, and installs dependencies with the project's package manager.
// Upstream's host lives in a Go module that our module proxy does not serve;
// see tools/README.md.
//
// Files, by concern:
//
//	main.go      flags, logging, serving the gRPC service
//	flags.go     command-line flags (pure)
//	options.go   runtime options from Pulumi.yaml over the flag defaults (pure)
//	host.go      the service type and its small RPCs (handshake, info, cancel, about)
//	node.go      finding node and the project's @pulumi/pulumi entry points
//	run.go       Run: the program through @pulumi/pulumi/cmd/run
//	plugin.go    RunPlugin: policy packs and other Node.js plugins
//	policyrunner.js  the runner of a policy pack with typescript: false (embedded)
//	packages.go  package.json reading, required plugins and program dependencies
//	install.go   InstallDependencies with the project's package manager
//	stream.go    writers that forward a child's output to a gRPC stream
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

func main() {
	// flag.CommandLine exits on a parse error, as flag.Parse does.
	f, _ := parseFlags(flag.CommandLine, os.Args[1:])

	logging.InitLogging(f.logToStderr, f.verbose, false)
	if f.tracing != "" {
		cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", f.tracing)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if f.engineAddress != "" {
		// Exit when the engine goes away.
		if err := rpcutil.Healthcheck(ctx, f.engineAddress, 5*time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	h := &host{
		engineAddress: f.engineAddress,
		tracing:       f.tracing,
		defaults:      f.defaults,
		running:       map[*exec.Cmd]struct{}{},
	}

	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		h.killAll()
		close(stop)
	}()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}
