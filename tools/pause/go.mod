// The node's pause (sandbox) image: a static binary that holds the pod's namespaces
// until SIGINT/SIGTERM and reaps orphans. scripts/k8s builds it and packs it as an OCI
// image by hand (no image can be pulled here). Standard library only.
module delivery/tools/pause

go 1.26.0
