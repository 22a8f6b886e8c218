// kubecp: one multi-call binary for a local Kubernetes control plane used by osk's tests.
//
// It runs one of
//
//	kube-apiserver, kube-controller-manager, kube-scheduler  (k8s.io/kubernetes, version in go.mod)
//	etcd                                                     (go.etcd.io/etcd/server/v3, embedded)
//	pki DIR                                                  (test CA, certs and keys; see pki.go)
//
// chosen by the name it is invoked as (argv[0], e.g. through a symlink) or by its first argument:
//
//	kubecp kube-apiserver --secure-port=... ...
//
// The kwok controller is built by the same `go build` from its own main (sigs.k8s.io/kwok/cmd/kwok,
// a `tool` of this module) so that the packages both share are compiled once.
//
// Only the selected component's constructor runs: building every cobra command to find a match
// (as the old hyperkube did) could register per-component globals twice.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	_ "time/tzdata" // as upstream kube-apiserver / kube-controller-manager: CronJob time zones

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // as upstream mains: JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // as upstream mains: client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // as upstream mains: version metric

	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

var kube = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if !known(name) && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	if name == "pki" {
		os.Exit(pkiMain(args))
	}
	if name == "etcd" {
		// etcdmain reads os.Args itself (argv[1] may be "gateway" / "grpc-proxy").
		etcdmain.Main(append([]string{"etcd"}, args...))
		return
	}
	newCmd, ok := kube[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "usage: kubecp {%s} [flags] (or invoke through a symlink of that name)\n", strings.Join(names(), "|"))
		os.Exit(2)
	}
	cmd := newCmd()
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}

func known(name string) bool {
	_, ok := kube[name]
	return ok || name == "etcd" || name == "pki"
}

func names() []string {
	out := []string{"etcd", "pki"}
	for n := range kube {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
