// Pins the node's container runtime: containerd (with its CRI plugin), its runc shim
// and ctr, built from github.com/containerd/containerd/v2. scripts/k8s builds it.
// Kubernetes 1.36+ supports containerd 2.x only (the kubelet takes the cgroup driver
// from the RuntimeConfig CRI call); Debian's containerd is 1.6. runc is Debian's.
module delivery/tools/containerd

go 1.26.6

require (
	github.com/containerd/containerd/v2 v2.4.2
)
