// Stand-in for github.com/pulumi/pulumi-java, which our Go module proxy does
// not serve. pulumi-docker-build imports it only for java.PackageInfo, the
// Java section of the schema it reports; SDK generation never runs here.
module github.com/pulumi/pulumi-java

go 1.22
