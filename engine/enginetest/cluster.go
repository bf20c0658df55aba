package enginetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The test cluster: one standalone ZooKeeper and three clickhouse-server processes on
// 127.0.0.1, each with its own ports and folder, all knowing two clusters:
//
//   - ShardsCluster ("two_shards"): n1 | n2, two shards of one replica each;
//   - ReplicasCluster ("two_replicas"): n1 + n3, one shard of two replicas.
//
// Every shard has internal_replication true (Replicated tables replicate themselves; ALTER …
// ON CLUSTER then runs on one replica per shard), every node has the macros {shard} and
// {replica} (n1: 01/n1, n2: 02/n2, n3: 01/n3) and distributed DDL on one ZooKeeper path.
// scripts/cluster.sh starts the same cluster by hand.
const (
	ShardsCluster   = "two_shards"
	ReplicasCluster = "two_replicas"
)

// ErrNoZooKeeper reports that ZooKeeper or Java is not installed.
var ErrNoZooKeeper = errors.New("ZooKeeper is not installed (apt-get install zookeeper)")

// Cluster is a ZooKeeper and three clickhouse-server nodes started for tests.
type Cluster struct {
	// ZooKeeper is the ZooKeeper client address, 127.0.0.1:port.
	ZooKeeper string
	// Nodes are n1, n2 and n3, in that order.
	Nodes []*Node
	dir   string
	zk    *exec.Cmd
}

// Node is one clickhouse-server of the cluster.
type Node struct {
	*Server
	// Name is "n1", "n2" or "n3"; Shard and Replica are its {shard} and {replica} macros.
	Name, Shard, Replica string
}

// Addr is the node's native-protocol address, as system.clusters lists it.
func (n *Node) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.Port) }

// Node returns the node with the given name ("n1", "n2", "n3"), or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// FindZooKeeper returns the java binary and the ZooKeeper jar, or ErrNoZooKeeper.
// HOURGLASS_ZOOKEEPER_JAR overrides the jar's place (Debian: /usr/share/java/zookeeper.jar,
// whose manifest names its dependencies).
func FindZooKeeper() (java, jar string, err error) {
	java, err = exec.LookPath("java")
	if err != nil {
		return "", "", fmt.Errorf("%w: no java: %v", ErrNoZooKeeper, err)
	}
	for _, p := range []string{os.Getenv("HOURGLASS_ZOOKEEPER_JAR"), "/usr/share/java/zookeeper.jar", "/usr/share/zookeeper/zookeeper.jar"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return java, p, nil
		}
	}
	return "", "", ErrNoZooKeeper
}

// StartCluster starts ZooKeeper, waits until it serves as a standalone server, then starts
// the three nodes and waits until each answers; everything lives in folders under dir.
// Stop it with Stop (servers first, then ZooKeeper). If anything fails to start, what did
// start is stopped.
func StartCluster(ctx context.Context, dir string) (*Cluster, error) {
	if _, err := FindServer(); err != nil {
		return nil, err
	}
	java, jar, err := FindZooKeeper()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	if err := c.startZooKeeper(ctx, java, jar); err != nil {
		c.Stop()
		return nil, err
	}
	for _, n := range []struct{ name, shard string }{{"n1", "01"}, {"n2", "02"}, {"n3", "01"}} {
		s, err := newServer(filepath.Join(dir, n.name))
		if err == nil {
			s.InterserverPort, err = freePort()
		}
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Nodes = append(c.Nodes, &Node{Server: s, Name: n.name, Shard: n.shard, Replica: n.name})
	}
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i, n := range c.Nodes {
		n.extra = c.nodeConfig(n)
		if err := n.writeConfig(); err != nil {
			c.Stop()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.start(ctx); err != nil {
				errs[i] = fmt.Errorf("node %s: %w", n.Name, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// nodeConfig is the cluster part of a node's config.
func (c *Cluster) nodeConfig(n *Node) string {
	replica := func(m *Node) string {
		return fmt.Sprintf("<replica><host>127.0.0.1</host><port>%d</port></replica>", m.Port)
	}
	shard := func(ms ...*Node) string {
		s := "<shard><internal_replication>true</internal_replication>"
		for _, m := range ms {
			s += replica(m)
		}
		return s + "</shard>"
	}
	n1, n2, n3 := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	host, port, _ := net.SplitHostPort(c.ZooKeeper)
	return fmt.Sprintf(`  <zookeeper><node><host>%[1]s</host><port>%[2]s</port></node><session_timeout_ms>30000</session_timeout_ms></zookeeper>
  <remote_servers>
    <%[3]s>%[4]s%[5]s</%[3]s>
    <%[6]s>%[7]s</%[6]s>
  </remote_servers>
  <macros><shard>%[8]s</shard><replica>%[9]s</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
`, host, port, ShardsCluster, shard(n1), shard(n2), ReplicasCluster, shard(n1, n3), n.Shard, n.Replica)
}

func (c *Cluster) startZooKeeper(ctx context.Context, java, jar string) error {
	zdir := filepath.Join(c.dir, "zookeeper")
	if err := os.MkdirAll(filepath.Join(zdir, "data"), 0o755); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.ZooKeeper = "127.0.0.1:" + strconv.Itoa(port)
	cfg := fmt.Sprintf("tickTime=500\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n4lw.commands.whitelist=srvr,ruok\n",
		filepath.Join(zdir, "data"), port)
	if err := os.WriteFile(filepath.Join(zdir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
		return err
	}
	log := filepath.Join(zdir, "zookeeper.log")
	c.zk = exec.Command(java, "-Xms16m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-cp", jar, "org.apache.zookeeper.server.ZooKeeperServerMain", filepath.Join(zdir, "zoo.cfg"))
	// ruok answers before the server serves; srvr says standalone only once it does.
	err = startProcess(ctx, c.zk, log, log, func() bool {
		s, err := FourLetters(c.ZooKeeper, "srvr")
		return err == nil && strings.Contains(s, "Mode: standalone")
	})
	if err != nil {
		return fmt.Errorf("ZooKeeper on %s: %w", c.ZooKeeper, err)
	}
	return nil
}

// FourLetters sends a ZooKeeper four-letter command ("srvr", "ruok") and returns the answer.
func FourLetters(addr, cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, cmd); err != nil {
		return "", err
	}
	b, err := io.ReadAll(bufio.NewReader(conn))
	return string(b), err
}

// Stop stops the servers (in parallel), then ZooKeeper, and removes nothing (the caller owns
// dir). Stopping ZooKeeper first would leave the servers retrying it while they shut down.
func (c *Cluster) Stop() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.Stop()
		}()
	}
	wg.Wait()
	if c.zk != nil && c.zk.Process != nil {
		pid := c.zk.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		for i := 0; i < 50 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		c.zk = nil
	}
}
