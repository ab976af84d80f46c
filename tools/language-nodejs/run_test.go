package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestEntryPoint(t *testing.T) {
	tests := []struct {
		name string
		req  *pulumirpc.RunRequest
		want string
	}{
		{"nothing: the package main", &pulumirpc.RunRequest{}, "."},
		{"program", &pulumirpc.RunRequest{Program: "bin/index.js"}, "bin/index.js"},
		{"entry point wins", &pulumirpc.RunRequest{Program: "bin/index.js",
			Info: &pulumirpc.ProgramInfo{EntryPoint: "src/main.ts"}}, "src/main.ts"},
		{"empty entry point", &pulumirpc.RunRequest{Program: "p", Info: &pulumirpc.ProgramInfo{}}, "p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := entryPoint(tt.req); got != tt.want {
				t.Errorf("entryPoint = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunArgs(t *testing.T) {
	base := []string{"--monitor=127.0.0.1:1", "--project=delivery", "--stack=dev", "--pwd=/p"}
	tests := []struct {
		name            string
		req             *pulumirpc.RunRequest
		engine, tracing string
		want            []string
	}{
		{
			name: "minimal",
			req:  &pulumirpc.RunRequest{MonitorAddress: "127.0.0.1:1", Project: "delivery", Stack: "dev"},
			want: append(append([]string{}, base...), "."),
		},
		{
			name: "everything, in cmd/run's order",
			req: &pulumirpc.RunRequest{
				MonitorAddress: "127.0.0.1:1", Project: "delivery", Stack: "dev",
				Organization: "org", DryRun: true, Parallel: 16, Args: []string{"a", "b"},
				Info: &pulumirpc.ProgramInfo{RootDirectory: "/root"},
			},
			engine: "127.0.0.1:2", tracing: "http://zipkin",
			want: append(append([]string{}, base...),
				"--engine=127.0.0.1:2", "--organization=org", "--root-directory=/root",
				"--dry-run", "--parallel=16", "--tracing=http://zipkin", ".", "a", "b"),
		},
		{
			name: "parallel zero or below is left out",
			req:  &pulumirpc.RunRequest{MonitorAddress: "127.0.0.1:1", Project: "delivery", Stack: "dev", Parallel: -1},
			want: append(append([]string{}, base...), "."),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runArgs(tt.req, "/p", ".", tt.engine, tt.tracing)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("runArgs =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestRunEnv(t *testing.T) {
	environ := []string{"HOME=/home/u"}
	tests := []struct {
		name string
		req  *pulumirpc.RunRequest
		opts runtimeOptions
		want []string
	}{
		{
			name: "no config",
			req:  &pulumirpc.RunRequest{},
			opts: runtimeOptions{typescript: true},
			want: []string{"HOME=/home/u", "PULUMI_CONFIG={}", "PULUMI_CONFIG_SECRET_KEYS=[]", "PULUMI_NODEJS_TYPESCRIPT=true"},
		},
		{
			name: "config, secrets and a tsconfig",
			req: &pulumirpc.RunRequest{
				Config:           map[string]string{"delivery:b": "2", "delivery:a": `say "hi"`},
				ConfigSecretKeys: []string{"delivery:a"},
			},
			opts: runtimeOptions{typescript: false, tsconfig: "tsconfig.json"},
			want: []string{
				"HOME=/home/u",
				`PULUMI_CONFIG={"delivery:a":"say \"hi\"","delivery:b":"2"}`,
				`PULUMI_CONFIG_SECRET_KEYS=["delivery:a"]`,
				"PULUMI_NODEJS_TYPESCRIPT=false",
				"PULUMI_NODEJS_TSCONFIG_PATH=tsconfig.json",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runEnv(environ, tt.req, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("runEnv =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestRunResponse(t *testing.T) {
	exitOf := func(script string) error {
		return exec.Command("/bin/sh", "-c", script).Run()
	}
	tests := []struct {
		name string
		err  error
		want *pulumirpc.RunResponse
	}{
		{"success", nil, &pulumirpc.RunResponse{}},
		{"exit 1", exitOf("exit 1"), &pulumirpc.RunResponse{Error: "Program exited with non-zero exit code: 1"}},
		{"exit 32: already reported, bail", exitOf("exit 32"), &pulumirpc.RunResponse{Bail: true}},
		{"signal", exitOf("kill -TERM $$"), &pulumirpc.RunResponse{Error: "Program exited due to signal: terminated"}},
		{"other error", errors.New("wait: broken"), &pulumirpc.RunResponse{Error: "wait: broken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runResponse(tt.err)
			if got.GetError() != tt.want.GetError() || got.GetBail() != tt.want.GetBail() {
				t.Errorf("runResponse(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// Run end to end with a fake node: the arguments and environment it is started with, and the
// exit code it ends with.
func TestRun(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, sdkFiles(""))
	t.Setenv("NODE_PATH", "")
	out := filepath.Join(t.TempDir(), "out")
	fakeNode(t, `printf '%s\n' "$@" >"`+out+`"; echo "$PULUMI_CONFIG" >>"`+out+`"; exit "${EXIT:-0}"`)
	h := &host{engineAddress: "127.0.0.1:2", defaults: runtimeOptions{typescript: true, nodeargs: "--trace-warnings"},
		running: map[*exec.Cmd]struct{}{}}
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1", Project: "delivery", Stack: "dev",
		Config: map[string]string{"delivery:x": "1"},
		Info:   &pulumirpc.ProgramInfo{ProgramDirectory: root},
	}

	resp, err := h.Run(context.Background(), req)
	if err != nil || resp.GetError() != "" || resp.GetBail() {
		t.Fatalf("Run = %v, %v; want success", resp, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"--trace-warnings", filepath.Join(root, "node_modules/@pulumi/pulumi/cmd/run"),
		"--monitor=127.0.0.1:1", "--project=delivery", "--stack=dev", "--pwd=" + root, "--engine=127.0.0.1:2", ".",
		`{"delivery:x":"1"}`,
	}, "\n") + "\n"
	if string(b) != want {
		t.Errorf("node was started with\n%s\nwant\n%s", b, want)
	}
	if len(h.running) != 0 {
		t.Errorf("%d processes still tracked after Run", len(h.running))
	}

	t.Setenv("EXIT", "32")
	if resp, err := h.Run(context.Background(), req); err != nil || !resp.GetBail() {
		t.Errorf("exit 32: Run = %v, %v; want Bail", resp, err)
	}
	t.Setenv("EXIT", "3")
	if resp, err := h.Run(context.Background(), req); err != nil || resp.GetError() != "Program exited with non-zero exit code: 3" {
		t.Errorf("exit 3: Run = %v, %v", resp, err)
	}
}

func TestRunWithoutSDK(t *testing.T) {
	t.Setenv("NODE_PATH", "")
	h := &host{running: map[*exec.Cmd]struct{}{}}
	resp, err := h.Run(context.Background(), &pulumirpc.RunRequest{Pwd: t.TempDir()})
	if err != nil || !strings.Contains(resp.GetError(), "npm install") {
		t.Errorf("Run = %v, %v; want a response error with the `npm install` hint", resp, err)
	}
}

func TestRunRefusesDebugger(t *testing.T) {
	h := &host{running: map[*exec.Cmd]struct{}{}}
	_, err := h.Run(context.Background(), &pulumirpc.RunRequest{AttachDebugger: true})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Run with a debugger: %v, want Unimplemented", err)
	}
}
