package main

import (
	"flag"
	"io"
	"testing"
)

func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("pulumi-language-nodejs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func TestParseFlags(t *testing.T) {
	defaults := runtimeOptions{typescript: true}
	tests := []struct {
		name    string
		args    []string
		want    hostFlags
		wantErr bool
	}{
		{name: "no arguments", args: nil, want: hostFlags{defaults: defaults}},
		{
			name: "engine address only",
			args: []string{"127.0.0.1:4321"},
			want: hostFlags{defaults: defaults, engineAddress: "127.0.0.1:4321"},
		},
		{
			name: "what the engine passes",
			args: []string{"-root=/work/project", "-tracing=http://zipkin:9411", "-logtostderr", "-v=9", "127.0.0.1:4321"},
			want: hostFlags{
				tracing: "http://zipkin:9411", logToStderr: true, verbose: 9,
				defaults: defaults, engineAddress: "127.0.0.1:4321",
			},
		},
		{
			name: "runtime options as flags (older engines)",
			args: []string{
				"-typescript=false", "-tsconfig", "tsconfig.build.json",
				"-nodeargs", "--max-old-space-size=4096 --trace-warnings", "-packagemanager=pnpm",
				"127.0.0.1:4321", "ignored",
			},
			want: hostFlags{
				defaults: runtimeOptions{
					typescript: false, tsconfig: "tsconfig.build.json",
					nodeargs: "--max-old-space-size=4096 --trace-warnings", packagemanager: "pnpm",
				},
				engineAddress: "127.0.0.1:4321",
			},
		},
		{name: "unknown flag", args: []string{"-nope"}, want: hostFlags{defaults: defaults}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(newFlagSet(), tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error: %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseFlags(%q) =\n  %+v\nwant\n  %+v", tt.args, got, tt.want)
			}
		})
	}
}

// glog registers -logtostderr and -v on flag.CommandLine before main runs; parseFlags must
// use those instead of defining them again (which would panic).
func TestParseFlagsUsesAlreadyRegisteredLoggingFlags(t *testing.T) {
	fs := newFlagSet()
	fs.Bool("logtostderr", false, "registered by glog")
	fs.Int("v", 0, "registered by glog")
	got, err := parseFlags(fs, []string{"-logtostderr=true", "-v=3"})
	if err != nil {
		t.Fatal(err)
	}
	if !got.logToStderr || got.verbose != 3 {
		t.Errorf("logToStderr, verbose = %v, %d; want true, 3", got.logToStderr, got.verbose)
	}
}
