//go:build cluster

package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Partitions are made with iptables on loopback. Every node binds
// 127.0.0.1 and connections between nodes all come from 127.0.0.1 (the
// kernel's source address for the loopback routes), so addresses cannot
// tell the sender apart; instead every node runs with its own group id
// (harness.WithGroup) and a rule drops the TCP packets a node's process
// sends to the other side's listening ports:
//
//	iptables -I OUTPUT -o lo -p tcp -m owner --gid-owner G(a)
//	         -m multiport --dports s3(b),raft(b) -m comment --comment TAG -j DROP
//
// for every a and b on different sides. Raft messages and chunk traffic
// travel on connections the sender dials, so this cuts both. The rules
// match this run's group ids and ports only, so other clusters on the
// machine are not touched. TAG names the test process; rules are removed
// when the partition heals, in t.Cleanup, and at the start of the next
// run for a test process that died without cleaning up.

// ruleTagPrefix starts the comment of every rule this suite adds.
const ruleTagPrefix = "forkstore-cluster-test-pid-"

var ruleTag = ruleTagPrefix + strconv.Itoa(os.Getpid())

// netfilterUsable reports why packet filtering cannot be used here, or "".
func netfilterUsable() string {
	if os.Geteuid() != 0 {
		return "not running as root"
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return "iptables is not installed"
	}
	// A rule that matches nothing (a group no process has, port 1),
	// added and removed: proves the owner, multiport and comment matches.
	spec := []string{"OUTPUT", "-o", "lo", "-p", "tcp", "-m", "owner", "--gid-owner", "2147483646",
		"-m", "multiport", "--dports", "1", "-m", "comment", "--comment", ruleTag, "-j", "DROP"}
	if out, err := exec.Command("iptables", append([]string{"-I"}, spec...)...).CombinedOutput(); err != nil {
		return fmt.Sprintf("iptables cannot add an owner-match rule: %v: %s", err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("iptables", append([]string{"-D"}, spec...)...).CombinedOutput(); err != nil {
		return fmt.Sprintf("iptables cannot delete its probe rule: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return ""
}

// Partition is a set of DROP rules splitting the cluster.
type Partition struct {
	t     testing.TB
	mu    sync.Mutex
	rules [][]string // rule specs without -I/-D
}

// Partition cuts the cluster into the given sides: no node of one side
// can reach a node of another. The nodes must run with withGroups.
func (c *Cluster) Partition(t testing.TB, sides ...[]*Node) *Partition {
	t.Helper()
	p := &Partition{t: t}
	t.Cleanup(p.Heal)
	for i, sa := range sides {
		for j, sb := range sides {
			if i == j {
				continue
			}
			for _, a := range sa {
				if a.gid == 0 {
					t.Fatalf("node %d has no group id: start the cluster withGroups()", a.ID)
				}
				for _, b := range sb {
					spec := []string{"OUTPUT", "-o", "lo", "-p", "tcp",
						"-m", "owner", "--gid-owner", strconv.FormatUint(uint64(a.gid), 10),
						"-m", "multiport", "--dports", port(t, b.S3Addr) + "," + port(t, b.RaftAddr),
						"-m", "comment", "--comment", ruleTag, "-j", "DROP"}
					if out, err := exec.Command("iptables", append([]string{"-I"}, spec...)...).CombinedOutput(); err != nil {
						t.Fatalf("iptables -I %s: %v: %s", strings.Join(spec, " "), err, out)
					}
					p.mu.Lock()
					p.rules = append(p.rules, spec)
					p.mu.Unlock()
				}
			}
		}
	}
	t.Logf("partition %v: %d iptables rules", sideIDs(sides), len(p.rules))
	return p
}

func sideIDs(sides [][]*Node) [][]uint64 {
	var out [][]uint64
	for _, s := range sides {
		out = append(out, ids(s))
	}
	return out
}

// Heal removes every rule of the partition (idempotent).
func (p *Partition) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, spec := range p.rules {
		if out, err := exec.Command("iptables", append([]string{"-D"}, spec...)...).CombinedOutput(); err != nil {
			p.t.Errorf("iptables -D %s: %v: %s", strings.Join(spec, " "), err, out)
		}
	}
	if len(p.rules) > 0 {
		p.t.Logf("partition healed: %d rules removed", len(p.rules))
	}
	p.rules = nil
}

// removeStaleRules deletes rules left by an earlier run of this suite
// whose process is gone (a test binary killed by -timeout runs no
// cleanup). Rules of a live run are left alone.
func removeStaleRules() {
	if os.Geteuid() != 0 {
		return
	}
	out, err := exec.Command("iptables", "-S", "OUTPUT").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" {
			continue
		}
		pid := 0
		for _, w := range f {
			if s, ok := strings.CutPrefix(strings.Trim(w, `"`), ruleTagPrefix); ok {
				pid, _ = strconv.Atoi(s)
			}
		}
		if pid == 0 || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		for i := range f {
			f[i] = strings.Trim(f[i], `"`)
		}
		f[0] = "-D"
		if b, err := exec.Command("iptables", f...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "cluster: removing a stale rule (%s): %v: %s\n", line, err, b)
		} else {
			fmt.Fprintf(os.Stderr, "cluster: removed a stale rule of pid %d: %s\n", pid, line)
		}
	}
}
