//go:build tools

// Pins buildkitd, the BuildKit daemon the docker-build provider builds with (through a
// buildx "remote" builder): the provider does not use dockerd's embedded BuildKit, and its
// default docker-container builder would pull moby/buildkit from Docker Hub.
// Same version as the provider's own buildkit dependency.
package tools

import _ "github.com/moby/buildkit/cmd/buildkitd"
