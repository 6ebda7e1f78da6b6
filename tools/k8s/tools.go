//go:build tools

// The Kubernetes commands scripts/k8s-cluster.sh builds from this module, imported here so go.mod and
// go.sum pin them (etcd is cmd/etcd; KWOK is built from its own module, sigs.k8s.io/kwok@v0.7.0).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
