//go:build tools

// Package tools records the engine's main package as a dependency so that
// `go mod tidy` keeps everything it needs in go.mod/go.sum.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
	// The engine's version is stamped into this package with -ldflags -X.
	_ "github.com/pulumi/pulumi/sdk/v3/go/common/version"
)
