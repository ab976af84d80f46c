package main

import (
	"reflect"
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
