// etcd at the version Kubernetes pins itself (go.etcd.io/etcd/server/v3, from k8s.io/kubernetes'
// go.mod): Debian's etcd 3.4 lacks the watch-progress requests the API server's watch cache and
// watch-list clients use.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
