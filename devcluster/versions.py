"""Versions of the control-plane components that devcluster builds.

The Go modules in gomod/ pin the same versions in their go.mod and go.sum; a
change here goes together with `go get` there.
"""

KUBERNETES_VERSION = "v1.37.2"
ETCD_VERSION = "v3.7.4"

KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
