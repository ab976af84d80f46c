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
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// exitCodeErrorAlreadyLogged is the exit code @pulumi/pulumi/cmd/run uses when
// the program failed and the error was already reported through the engine.
const exitCodeErrorAlreadyLogged = 32

func main() {
	var (
		tracing        string
		logToStderr    bool
		verbose        int
		root           string
		typescript     bool
		tsconfig       string
		nodeargs       string
		packagemanager string
	)
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	// -logtostderr and -v are usually registered already by a logging
	// dependency (glog); define them only where they are not.
	if flag.Lookup("logtostderr") == nil {
		flag.Bool("logtostderr", false, "Log to stderr")
	}
	if flag.Lookup("v") == nil {
		flag.Int("v", 0, "Log verbosity")
	}
	// Older engines passed runtime options as flags; newer ones send them in
	// ProgramInfo.options. The flags are the defaults for the latter.
	flag.StringVar(&root, "root", "", "Project root (unused)")
	flag.BoolVar(&typescript, "typescript", true, "Run the program through ts-node")
	flag.StringVar(&tsconfig, "tsconfig", "", "Path to tsconfig.json")
	flag.StringVar(&nodeargs, "nodeargs", "", "Extra arguments for node")
	flag.StringVar(&packagemanager, "packagemanager", "", "npm, yarn, pnpm or bun")
	flag.Parse()
	logToStderr, _ = strconv.ParseBool(flag.Lookup("logtostderr").Value.String())
	verbose, _ = strconv.Atoi(flag.Lookup("v").Value.String())

	logging.InitLogging(logToStderr, verbose, false)
	if tracing != "" {
		cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", tracing)
	}

	engineAddress := ""
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if engineAddress != "" {
		// Exit when the engine goes away.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	h := &host{
		engineAddress: engineAddress,
		tracing:       tracing,
		defaults: runtimeOptions{
			typescript:     typescript,
			tsconfig:       tsconfig,
			nodeargs:       nodeargs,
			packagemanager: packagemanager,
		},
		running: map[*exec.Cmd]struct{}{},
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

type runtimeOptions struct {
	typescript     bool
	tsconfig       string
	nodeargs       string
	packagemanager string
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	tracing       string
	defaults      runtimeOptions

	mu      sync.Mutex
	running map[*exec.Cmd]struct{}
}

// options merges Pulumi.yaml's `runtime.options` over the flag defaults.
func (h *host) options(opts *structpb.Struct) runtimeOptions {
	o := h.defaults
	if opts == nil {
		return o
	}
	m := opts.AsMap()
	if v, ok := m["typescript"]; ok {
		switch t := v.(type) {
		case bool:
			o.typescript = t
		case string:
			if b, err := strconv.ParseBool(t); err == nil {
				o.typescript = b
			}
		}
	}
	if v, ok := m["tsconfig"].(string); ok {
		o.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		o.nodeargs = v
	}
	if v, ok := m["packagemanager"].(string); ok {
		o.packagemanager = v
	}
	return o
}

func (h *host) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.mu.Lock()
		h.engineAddress = req.GetEngineAddress()
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func programDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	if fallback != "" {
		return fallback
	}
	wd, _ := os.Getwd()
	return wd
}

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
// returns node's path with its leading arguments: the runtime's nodeargs, then that package's
// cmd/<script> entry point (run, run-plugin, run-policy-pack).
func nodeScript(dir, nodeargs, script string) (string, []string, error) {
	sdk, err := findPulumiPackage(dir)
	if err != nil {
		return "", nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	return node, append(strings.Fields(nodeargs), filepath.Join(sdk, "cmd", script)), nil
}

func (h *host) track(cmd *exec.Cmd, add bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if add {
		h.running[cmd] = struct{}{}
	} else {
		delete(h.running, cmd)
	}
}

func (h *host) killAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cmd := range h.running {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	}
}

func (h *host) Cancel(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	h.killAll()
	return &emptypb.Empty{}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if req.GetAttachDebugger() {
		return nil, status.Error(codes.Unimplemented, "attaching a debugger is not supported by this language host")
	}
	info := req.GetInfo()
	pwd := programDir(info, req.GetPwd())
	opts := h.options(info.GetOptions())

	entry := req.GetProgram()
	if info.GetEntryPoint() != "" {
		entry = info.GetEntryPoint()
	}
	if entry == "" {
		entry = "."
	}

	node, args, err := nodeScript(pwd, opts.nodeargs, "run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	args = append(args,
		"--monitor="+req.GetMonitorAddress(),
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--pwd="+pwd,
	)
	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()
	if engine != "" {
		args = append(args, "--engine="+engine)
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization="+req.GetOrganization())
	}
	if info.GetRootDirectory() != "" {
		args = append(args, "--root-directory="+info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		args = append(args, "--parallel="+strconv.Itoa(int(req.GetParallel())))
	}
	if h.tracing != "" {
		args = append(args, "--tracing="+h.tracing)
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

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

	env := os.Environ()
	env = append(env,
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(opts.typescript),
	)
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
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

	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited due to signal: %v", ws.Signal())}, nil
		}
		if exitErr.ExitCode() == exitCodeErrorAlreadyLogged {
			return &pulumirpc.RunResponse{Bail: true}, nil
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	}
	return &pulumirpc.RunResponse{Error: err.Error()}, nil
}

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

func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

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
	analyzer := req.GetKind() == "analyzer"
	script := "run-plugin"
	if analyzer {
		script = "run-policy-pack"
	}
	node, args, err := nodeScript(dir, opts.nodeargs, script)
	if err != nil {
		return err
	}
	if analyzer {
		// usage: run-policy-pack <engine-address> <program>; the engine sends its address as the only arg.
		args = append(append(args, req.GetArgs()...), dir)
	} else {
		args = append(append(args, dir), req.GetArgs()...)
	}

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

func (h *host) RuntimeOptionsPrompts(
	ctx context.Context, req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// streamWriter forwards a child's stdout or stderr to a gRPC server stream, one message per
// write; wrap makes the message, mu keeps the two writers of one child from sending at once.
type streamWriter[T any] struct {
	mu   *sync.Mutex
	send func(*T) error
	wrap func([]byte) *T
}

func (w streamWriter[T]) Write(p []byte) (int, error) {
	msg := w.wrap(append([]byte(nil), p...))
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest,
	server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := programDir(req.GetInfo(), req.GetDirectory())
	opts := h.options(req.GetInfo().GetOptions())
	pm := opts.packagemanager
	if pm == "" || pm == "auto" {
		switch {
		case exists(filepath.Join(dir, "yarn.lock")):
			pm = "yarn"
		case exists(filepath.Join(dir, "pnpm-lock.yaml")):
			pm = "pnpm"
		case exists(filepath.Join(dir, "bun.lockb")), exists(filepath.Join(dir, "bun.lock")):
			pm = "bun"
		default:
			pm = "npm"
		}
	}
	bin, err := exec.LookPath(pm)
	if err != nil {
		return fmt.Errorf("could not find %s on the $PATH: %w", pm, err)
	}
	args := []string{"install"}
	if pm == "npm" {
		args = append(args, "--no-audit", "--no-fund")
	}
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

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
