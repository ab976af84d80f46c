package main

import (
	"flag"
	"strconv"
)

// hostFlags is what the engine tells the host on its command line.
type hostFlags struct {
	tracing       string
	logToStderr   bool
	verbose       int
	defaults      runtimeOptions
	engineAddress string // the first positional argument, if any
}

// parseFlags defines the host's flags on fs and parses args with it. main passes
// flag.CommandLine, where a logging dependency (glog) has usually registered
// -logtostderr and -v already; they are defined here only where they are not.
func parseFlags(fs *flag.FlagSet, args []string) (hostFlags, error) {
	var (
		f    hostFlags
		root string
	)
	fs.StringVar(&f.tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	if fs.Lookup("logtostderr") == nil {
		fs.Bool("logtostderr", false, "Log to stderr")
	}
	if fs.Lookup("v") == nil {
		fs.Int("v", 0, "Log verbosity")
	}
	// Older engines passed runtime options as flags; newer ones send them in
	// ProgramInfo.options. The flags are the defaults for the latter.
	fs.StringVar(&root, "root", "", "Project root (unused)")
	fs.BoolVar(&f.defaults.typescript, "typescript", true, "Run the program through ts-node")
	fs.StringVar(&f.defaults.tsconfig, "tsconfig", "", "Path to tsconfig.json")
	fs.StringVar(&f.defaults.nodeargs, "nodeargs", "", "Extra arguments for node")
	fs.StringVar(&f.defaults.packagemanager, "packagemanager", "", "npm, yarn, pnpm or bun")
	err := fs.Parse(args)
	f.logToStderr, _ = strconv.ParseBool(fs.Lookup("logtostderr").Value.String())
	f.verbose, _ = strconv.Atoi(fs.Lookup("v").Value.String())
	if rest := fs.Args(); len(rest) > 0 {
		f.engineAddress = rest[0]
	}
	return f, err
}
