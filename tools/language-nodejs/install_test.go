package main

import (
	"reflect"
	"testing"
)

func TestPackageManager(t *testing.T) {
	tests := map[string]struct {
		configured string
		lockFiles  []string
		want       string
	}{
		"default is npm":                  {"", nil, "npm"},
		"auto is npm without lock files":  {"auto", []string{"package-lock.json"}, "npm"},
		"yarn.lock":                       {"", []string{"yarn.lock"}, "yarn"},
		"pnpm-lock.yaml":                  {"auto", []string{"pnpm-lock.yaml"}, "pnpm"},
		"bun.lockb":                       {"", []string{"bun.lockb"}, "bun"},
		"bun.lock":                        {"", []string{"bun.lock"}, "bun"},
		"yarn before pnpm before bun":     {"", []string{"bun.lock", "pnpm-lock.yaml", "yarn.lock"}, "yarn"},
		"pnpm before bun":                 {"", []string{"bun.lock", "pnpm-lock.yaml"}, "pnpm"},
		"configured wins over lock files": {"npm", []string{"yarn.lock"}, "npm"},
		"configured is taken as is":       {"pnpm", nil, "pnpm"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{}
			for _, f := range tt.lockFiles {
				files[f] = ""
			}
			writeFiles(t, dir, files)
			if got := packageManager(dir, tt.configured); got != tt.want {
				t.Errorf("packageManager(%q, %v) = %s, want %s", tt.configured, tt.lockFiles, got, tt.want)
			}
		})
	}
}

func TestInstallArgs(t *testing.T) {
	for pm, want := range map[string][]string{
		"npm":  {"install", "--no-audit", "--no-fund"},
		"yarn": {"install"},
		"pnpm": {"install"},
		"bun":  {"install"},
	} {
		if got := installArgs(pm); !reflect.DeepEqual(got, want) {
			t.Errorf("installArgs(%s) = %q, want %q", pm, got, want)
		}
	}
}
