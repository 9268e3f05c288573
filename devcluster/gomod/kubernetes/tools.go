//go:build tools

// Package tools pins the Kubernetes commands that devcluster builds, so that
// go.mod and go.sum list every module they need.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
