// Command gen writes schema-embed.json and terraform-mapping-embed.json for
// ../main.go from the schema.json and terraform-mapping.json committed in the
// pinned github.com/pulumi/pulumi-kubernetes/provider/v4 module, with the
// schema's "version" set to the release being built.
//
// Usage (in the directory holding main.go): go run ./gen -version 4.25.0
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"log"
	"os"
	"os/exec"
	"path/filepath"
)

const providerModule = "github.com/pulumi/pulumi-kubernetes/provider/v4"

func main() {
	version := flag.String("version", "", "provider version to write into the schema (required)")
	out := flag.String("out", ".", "directory to write the embed files to")
	flag.Parse()
	if *version == "" {
		log.Fatal("gen: -version is required")
	}

	// `go mod download` fetches the module when the module cache lacks it (a fresh machine:
	// `go run ./gen` downloads only what gen itself imports) and prints where it is.
	// `go list -m -f {{.Dir}}` would print an empty Dir there.
	cmd := exec.Command("go", "mod", "download", "-json", providerModule)
	cmd.Stderr = os.Stderr
	downloaded, err := cmd.Output()
	var module struct{ Dir, Error string }
	if jsonErr := json.Unmarshal(downloaded, &module); err != nil || jsonErr != nil || module.Dir == "" {
		log.Fatalf("gen: downloading %s: %v %v %s", providerModule, err, jsonErr, module.Error)
	}
	src := filepath.Join(module.Dir, "cmd", "pulumi-resource-kubernetes")

	schemaJSON, err := os.ReadFile(filepath.Join(src, "schema.json"))
	if err != nil {
		log.Fatal(err)
	}
	var schema map[string]json.RawMessage
	if err := json.Unmarshal(schemaJSON, &schema); err != nil {
		log.Fatalf("gen: schema.json: %v", err)
	}
	v, err := json.Marshal(*version)
	if err != nil {
		log.Fatal(err)
	}
	schema["version"] = v
	versioned, err := json.Marshal(schema)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "schema-embed.json"), versioned, 0o644); err != nil {
		log.Fatal(err)
	}

	mappingJSON, err := os.ReadFile(filepath.Join(src, "terraform-mapping.json"))
	if err != nil {
		log.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, mappingJSON); err != nil {
		log.Fatalf("gen: terraform-mapping.json: %v", err)
	}
	if err := os.WriteFile(filepath.Join(*out, "terraform-mapping-embed.json"), compact.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
