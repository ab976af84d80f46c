package main

import (
	"os"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestMergeOptions(t *testing.T) {
	defaults := runtimeOptions{typescript: true, tsconfig: "flag.json", nodeargs: "--flag", packagemanager: "yarn"}
	tests := []struct {
		name string
		opts map[string]any // nil: no options struct at all
		want runtimeOptions
	}{
		{name: "no options", opts: nil, want: defaults},
		{name: "empty options", opts: map[string]any{}, want: defaults},
		{name: "typescript false", opts: map[string]any{"typescript": false}, want: runtimeOptions{false, "flag.json", "--flag", "yarn"}},
		{name: "typescript as a string", opts: map[string]any{"typescript": "false"}, want: runtimeOptions{false, "flag.json", "--flag", "yarn"}},
		{name: "typescript as 0", opts: map[string]any{"typescript": "0"}, want: runtimeOptions{false, "flag.json", "--flag", "yarn"}},
		{name: "typescript unparsable string ignored", opts: map[string]any{"typescript": "nope"}, want: defaults},
		{name: "typescript number ignored", opts: map[string]any{"typescript": 0}, want: defaults},
		{
			name: "every option",
			opts: map[string]any{
				"typescript": true, "tsconfig": "tsconfig.json", "nodeargs": "--inspect --trace-warnings",
				"packagemanager": "pnpm",
			},
			want: runtimeOptions{true, "tsconfig.json", "--inspect --trace-warnings", "pnpm"},
		},
		{
			name: "empty strings override",
			opts: map[string]any{"tsconfig": "", "nodeargs": "", "packagemanager": ""},
			want: runtimeOptions{typescript: true},
		},
		{
			name: "non-string values ignored",
			opts: map[string]any{"tsconfig": true, "nodeargs": 4, "packagemanager": []any{"npm"}},
			want: defaults,
		},
		{name: "unknown keys ignored", opts: map[string]any{"binary": "dist/index.js"}, want: defaults},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts *structpb.Struct
			if tt.opts != nil {
				var err error
				if opts, err = structpb.NewStruct(tt.opts); err != nil {
					t.Fatal(err)
				}
			}
			if got := mergeOptions(defaults, opts); got != tt.want {
				t.Errorf("mergeOptions(%v) = %+v, want %+v", tt.opts, got, tt.want)
			}
			h := &host{defaults: defaults}
			if got := h.options(opts); got != tt.want {
				t.Errorf("host.options(%v) = %+v, want %+v", tt.opts, got, tt.want)
			}
		})
	}
}

func TestProgramDir(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		info     *pulumirpc.ProgramInfo
		fallback string
		want     string
	}{
		{name: "program directory wins", info: &pulumirpc.ProgramInfo{ProgramDirectory: "/p"}, fallback: "/pwd", want: "/p"},
		{name: "fallback without info", info: nil, fallback: "/pwd", want: "/pwd"},
		{name: "fallback with empty info", info: &pulumirpc.ProgramInfo{RootDirectory: "/root"}, fallback: "/pwd", want: "/pwd"},
		{name: "working directory last", info: nil, fallback: "", want: wd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := programDir(tt.info, tt.fallback); got != tt.want {
				t.Errorf("programDir = %q, want %q", got, tt.want)
			}
		})
	}
}
