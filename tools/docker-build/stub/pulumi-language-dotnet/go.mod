// Stand-in for github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3 at the
// version pulumi-docker-build pins (v3.107.0), which our Go module proxy does
// not serve. pulumi-docker-build imports it only for codegen.CSharpPackageInfo,
// the C# section of the schema it reports; SDK generation never runs here.
module github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3

go 1.22
