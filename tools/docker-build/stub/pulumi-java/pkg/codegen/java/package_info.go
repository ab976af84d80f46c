// Package java declares the one type that pulumi-docker-build uses from
// pulumi-java: the Java language section of a package schema. Field names and
// JSON names follow the schema the provider publishes (its schema.json).
package java

// PackageInfo is the `language.java` section of a Pulumi package schema.
type PackageInfo struct {
	Packages                        map[string]string `json:"packages,omitempty"`
	BasePackage                     string            `json:"basePackage"`
	BuildFiles                      string            `json:"buildFiles"`
	Dependencies                    map[string]string `json:"dependencies,omitempty"`
	GradleNexusPublishPluginVersion string            `json:"gradleNexusPublishPluginVersion"`
	GradleTest                      string            `json:"gradleTest"`
}
