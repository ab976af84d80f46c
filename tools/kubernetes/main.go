// Command pulumi-resource-kubernetes serves the Kubernetes resource provider.
//
// Upstream's main embeds schema-embed.json and terraform-mapping-embed.json,
// which its Makefile generates and which are therefore not in the Go module.
// scripts/bootstrap runs ./gen in a scratch copy of this directory to produce
// them from the module's committed schema.json and terraform-mapping.json, then
// builds this file there.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
