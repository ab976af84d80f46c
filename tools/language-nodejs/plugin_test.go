package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestPluginCommand(t *testing.T) {
	tests := []struct {
		name       string
		kind       string
		args       []string
		wantScript string
		wantArgs   []string
	}{
		{"policy pack: engine address, then the pack", "analyzer", []string{"127.0.0.1:4321"},
			"run-policy-pack", []string{"127.0.0.1:4321", "/pack"}},
		{"policy pack without args", "analyzer", nil, "run-policy-pack", []string{"/pack"}},
		{"resource plugin: directory, then args", "resource", []string{"127.0.0.1:4321", "--x"},
			"run-plugin", []string{"/pack", "127.0.0.1:4321", "--x"}},
		{"tool plugin without args", "tool", nil, "run-plugin", []string{"/pack"}},
		{"empty kind", "", []string{"a"}, "run-plugin", []string{"/pack", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script, got := pluginCommand(tt.kind, "/pack", tt.args)
			if script != tt.wantScript || !reflect.DeepEqual(got, tt.wantArgs) {
				t.Errorf("pluginCommand(%q) = %s %q, want %s %q", tt.kind, script, got, tt.wantScript, tt.wantArgs)
			}
		})
	}
}

func TestPolicyRunnerArgs(t *testing.T) {
	sdk := "/p/node_modules/@pulumi/pulumi"
	with := func(string) bool { return true }
	without := func(string) bool { return false }
	tests := []struct {
		name     string
		nodeargs string
		exists   func(string) bool
		want     []string
	}{
		{"preloads defer-sdk.js when the project has it", "--trace-warnings", with,
			[]string{"--trace-warnings", "-r", "/p/defer-sdk.js", "-e", policyRunner, "--", sdk}},
		{"nodeargs first", "--max-old-space-size=512 --trace-warnings", without,
			[]string{"--max-old-space-size=512", "--trace-warnings", "-e", policyRunner, "--", sdk}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policyRunnerArgs(sdk, tt.nodeargs, tt.exists); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("policyRunnerArgs = %q, want %q", got, tt.want)
			}
		})
	}
	// The runner is the SDK's, minus ts-node: it must pass typeScript: false to run.js.
	if !strings.Contains(policyRunner, "typeScript: false,") || !strings.Contains(policyRunner, `"cmd", "run-policy-pack", "run"`) {
		t.Errorf("policyrunner.js does not run cmd/run-policy-pack/run with typeScript: false")
	}
}
