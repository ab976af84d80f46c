// Package codegen declares the one type that pulumi-docker-build uses from
// pulumi-language-dotnet: the C# language section of a package schema.
package codegen

// CSharpPackageInfo is the `language.csharp` section of a Pulumi package schema.
type CSharpPackageInfo struct {
	PackageReferences      map[string]string `json:"packageReferences,omitempty"`
	Namespaces             map[string]string `json:"namespaces,omitempty"`
	Compatibility          string            `json:"compatibility,omitempty"`
	DictionaryConstructors bool              `json:"dictionaryConstructors,omitempty"`
	ProjectReferences      []string          `json:"projectReferences,omitempty"`
	RootNamespace          string            `json:"rootNamespace,omitempty"`
	RespectSchemaVersion   bool              `json:"respectSchemaVersion,omitempty"`
}
