// Command cluster runs the test cluster of package enginetest (one standalone ZooKeeper and
// three clickhouse-server nodes on 127.0.0.1) until it is told to stop; scripts/cluster.sh
// starts and stops it in the background.
//
//	go run ./scripts/cluster DIR
//
// Once every node answers it writes DIR/cluster.env (the DSN of each node, the ZooKeeper
// address and the cluster names, as shell variables) and waits for SIGTERM or SIGINT, then
// stops the servers and ZooKeeper. The processes it starts die with it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hourglass-dev/hourglass/engine/enginetest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/cluster DIR")
		os.Exit(2)
	}
	dir, err := filepath.Abs(os.Args[1])
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	c, err := enginetest.StartCluster(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	var env strings.Builder
	fmt.Fprintf(&env, "ZOOKEEPER=%s\nSHARDS_CLUSTER=%s\nREPLICAS_CLUSTER=%s\n", c.ZooKeeper, enginetest.ShardsCluster, enginetest.ReplicasCluster)
	for _, n := range c.Nodes {
		fmt.Fprintf(&env, "%s_DSN=%s\n%s_PORT=%d\n", strings.ToUpper(n.Name), n.DSN, strings.ToUpper(n.Name), n.Port)
	}
	if err := os.WriteFile(filepath.Join(dir, "cluster.env"), []byte(env.String()), 0o644); err != nil {
		c.Stop()
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
	fmt.Print(env.String())
	<-ctx.Done()
	c.Stop()
	os.Remove(filepath.Join(dir, "cluster.env"))
}
