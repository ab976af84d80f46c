//go:build tools

// Package tools records the provider's main package as a dependency so that
// `go mod tidy` keeps everything it needs in go.mod/go.sum.
package tools

import (
	_ "github.com/pulumi/pulumi-docker-build/provider/cmd/pulumi-resource-docker-build"
)
