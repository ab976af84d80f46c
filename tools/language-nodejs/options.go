package main

import (
	"os"
	"strconv"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

// runtimeOptions are Pulumi.yaml's `runtime.options` that the host honours.
type runtimeOptions struct {
	typescript     bool
	tsconfig       string
	nodeargs       string
	packagemanager string
}

// options merges Pulumi.yaml's `runtime.options` over the flag defaults.
func (h *host) options(opts *structpb.Struct) runtimeOptions {
	return mergeOptions(h.defaults, opts)
}

// mergeOptions returns defaults with the options set in opts: `typescript` as a
// boolean or a string strconv.ParseBool accepts, the others as strings. Values
// of any other type are ignored.
func mergeOptions(defaults runtimeOptions, opts *structpb.Struct) runtimeOptions {
	o := defaults
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

// programDir is the program's directory: ProgramInfo's, else fallback (the
// request's pwd or program), else the working directory.
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
