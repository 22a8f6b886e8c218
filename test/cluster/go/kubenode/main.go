// kubenode: the node components of the real node in osk's test cluster (test/cluster/real-node.ts),
// one multi-call binary like kubecp:
//
//	kubelet     k8s.io/kubernetes/cmd/kubelet    (version in ../go.mod)
//	kube-proxy  k8s.io/kubernetes/cmd/kube-proxy
//
// chosen by the name it is invoked as (argv[0], through a symlink) or by its first argument.
// It is its own main package, built only when a cluster asks for a real node, so the kwok-only
// cluster does not pay for compiling the kubelet; both builds share Go's build cache.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // as upstream mains: JSON log format
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // as upstream mains: client-go metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // as upstream mains: version metric

	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

var commands = map[string]func() *cobra.Command{
	"kubelet":    func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-proxy": proxy.NewProxyCommand,
}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if _, ok := commands[name]; !ok && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	newCmd, ok := commands[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "usage: kubenode {kubelet|kube-proxy} [flags] (or invoke through a symlink of that name)")
		os.Exit(2)
	}
	cmd := newCmd()
	cmd.SetArgs(args)
	os.Exit(cli.Run(cmd))
}
