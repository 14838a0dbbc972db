package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/forkstore/forkstore/gateway"
)

// The cluster commands: membership, leadership, status, consistency and
// scrubbing, over the admin API's cluster endpoints.

func init() { register(newClusterCmd) }

func newClusterCmd(a *app) *cobra.Command {
	status := &cobra.Command{
		Use:   "status",
		Short: "Members with addresses, the leader, each node's applied index, readiness, repair backlog and chunk files, and the chunks with fewer than R copies",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			var st gateway.ClusterStatus
			c := call{method: http.MethodGet, path: adminPath("cluster", "status")}
			return a.show(cmd, c, &st, func(w io.Writer) error { return clusterTable(w, &st) })
		},
	}

	var nodeID uint64
	var raftAddr, s3Addr string
	add := &cobra.Command{
		Use:   "add --node-id N --raft-addr HOST:PORT --s3-addr HOST:PORT",
		Short: "Add a node to the cluster (then start it with --join)",
		Long: "Add a node to the cluster: its addresses are recorded and it becomes a voting\n" +
			"member. Then start it with `forkstore server --join` and the same node id and\n" +
			"addresses. Ids are never reused: a removed id is refused (NodeIDRetired).",
		Example: "  forkstore cluster add --node-id 4 --raft-addr 10.0.0.4:7000 --s3-addr 10.0.0.4:9000",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if nodeID == 0 || raftAddr == "" || s3Addr == "" {
				return usagef("--node-id, --raft-addr and --s3-addr are required")
			}
			var m gateway.NodeStatus
			c := call{method: http.MethodPost, path: adminPath("cluster", "members"),
				body: map[string]any{"node_id": nodeID, "raft_addr": raftAddr, "s3_addr": s3Addr}}
			return a.show(cmd, c, &m, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "added node %d (raft %s, s3 %s): start it with --join\n", m.NodeID, m.RaftAddr, m.S3Addr)
				return err
			})
		},
	}
	add.Flags().Uint64Var(&nodeID, "node-id", 0, "the new node's `ID` (never used before)")
	add.Flags().StringVar(&raftAddr, "raft-addr", "", "the new node's Raft `HOST:PORT`")
	add.Flags().StringVar(&s3Addr, "s3-addr", "", "the new node's S3 `HOST:PORT`, as the other nodes reach it")

	// removeWait bounds how long cluster remove waits for the node's
	// metadata shard replicas to be moved off it.
	const removeWait = 15 * time.Minute
	var removeID uint64
	remove := &cobra.Command{
		Use:     "remove --node-id N",
		Short:   "Remove a node for good (its id is retired; repair restores its chunk copies)",
		Example: "  forkstore cluster remove --node-id 3",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if removeID == 0 {
				return usagef("--node-id is required")
			}
			var out struct {
				NodeID  uint64 `json:"node_id"`
				Removed bool   `json:"removed"`
			}
			c := call{method: http.MethodDelete, path: adminPath("cluster", "members", strconv.FormatUint(removeID, 10))}
			// With placed metadata shards the node's replicas are moved
			// off it first: a 503 saying they still are being moved is
			// asked again until removeWait.
			deadline := time.Now().Add(removeWait)
			var raw json.RawMessage
			for {
				var err error
				raw, err = a.call(cmd, c)
				var ae *apiError
				if err == nil {
					break
				}
				if !errors.As(err, &ae) || ae.status != http.StatusServiceUnavailable ||
					!strings.Contains(ae.message, "being moved off") || time.Now().After(deadline) {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s\n", ae.message)
			}
			if a.json {
				return writeJSON(cmd.OutOrStdout(), raw)
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "removed node %d; its id is retired\n", out.NodeID)
			return err
		},
	}
	remove.Flags().Uint64Var(&removeID, "node-id", 0, "the `ID` of the node to remove")

	var to uint64
	transfer := &cobra.Command{
		Use:     "transfer-leader --to N",
		Short:   "Move the metadata shard's leadership to node N",
		Example: "  forkstore cluster transfer-leader --to 2",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == 0 {
				return usagef("--to is required")
			}
			var out struct {
				LeaderID uint64 `json:"leader_id"`
			}
			c := call{method: http.MethodPost, path: adminPath("cluster", "leader"), body: map[string]any{"node_id": to}}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "node %d leads\n", out.LeaderID)
				return err
			})
		},
	}
	transfer.Flags().Uint64Var(&to, "to", 0, "the `ID` of the node to lead")

	rebalance := &cobra.Command{
		Use:   "rebalance",
		Short: "Spread the metadata shards' leaders evenly over the nodes now (the cluster also does it by itself)",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Moves        []gateway.LeaderMove  `json:"moves"`
				ReplicaMoves []gateway.ReplicaMove `json:"replica_moves"`
			}
			c := call{method: http.MethodPost, path: adminPath("cluster", "rebalance")}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				if len(out.ReplicaMoves) > 0 {
					t := newTable(w, "SHARD", "REPLICA", "NODE", "REPLICA ID")
					for _, m := range out.ReplicaMoves {
						t.row(strconv.FormatUint(m.Shard, 10), m.Op, strconv.FormatUint(m.Node, 10), strconv.FormatUint(m.Replica, 10))
					}
					if err := t.flush(); err != nil {
						return err
					}
				}
				if len(out.Moves) == 0 {
					_, err := fmt.Fprintln(w, "the shards' leaders are spread evenly")
					return err
				}
				t := newTable(w, "SHARD", "FROM", "TO")
				for _, m := range out.Moves {
					t.row(strconv.FormatUint(m.Shard, 10), strconv.FormatUint(m.From, 10), strconv.FormatUint(m.To, 10))
				}
				return t.flush()
			})
		},
	}

	digest := &cobra.Command{
		Use:   "digest",
		Short: "Every node's metadata digest at one point of the log (equal = identical metadata)",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Version string            `json:"version"`
				Digests map[string]string `json:"digests"`
				Errors  map[string]string `json:"errors"`
			}
			c := call{method: http.MethodPost, path: adminPath("cluster", "digest")}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				t := newTable(w, "NODE", "DIGEST AT "+out.Version)
				for _, id := range nodeIDs(out.Digests, out.Errors) {
					if d, ok := out.Digests[id]; ok {
						t.row(id, d)
					} else {
						t.row(id, "error: "+out.Errors[id])
					}
				}
				return t.flush()
			})
		},
	}

	scrub := &cobra.Command{
		Use:   "scrub",
		Short: "Re-verify every node's chunk files now and repair bad copies",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct {
				Nodes  map[string]gateway.ScrubResult `json:"nodes"`
				Errors map[string]string              `json:"errors"`
			}
			c := call{method: http.MethodPost, path: adminPath("cluster", "scrub")}
			return a.show(cmd, c, &out, func(w io.Writer) error {
				t := newTable(w, "NODE", "CHECKED", "CORRUPT", "REPAIRED")
				for _, id := range nodeIDs(out.Nodes, out.Errors) {
					if r, ok := out.Nodes[id]; ok {
						t.row(id, strconv.Itoa(r.Checked), strconv.Itoa(r.Corrupt), strconv.Itoa(r.Repaired))
					} else {
						t.row(id, "error: "+out.Errors[id], "", "")
					}
				}
				return t.flush()
			})
		},
	}

	return group("cluster", "Manage the cluster: members, leadership, status, consistency, scrubbing",
		"A cluster is 1, 3 or 5 nodes; every node serves S3. See docs/operations.md.",
		status, add, remove, transfer, rebalance, digest, scrub)
}

func clusterTable(w io.Writer, st *gateway.ClusterStatus) error {
	header := []string{"NODE", "RAFT ADDR", "S3 ADDR", "ROLE", "READY", "APPLIED", "REPAIR BACKLOG", "CHUNKS"}
	zones := slices.ContainsFunc(st.Members, func(m gateway.NodeStatus) bool { return m.Zone != "" })
	if zones {
		header = append(header, "ZONE")
	}
	t := newTable(w, header...)
	for _, m := range st.Members {
		role := "follower"
		switch {
		case m.NodeID == st.LeaderID:
			role = "leader"
		case slices.Contains(st.Down, m.NodeID):
			role = "down"
		case !m.Reachable:
			role = "unreachable"
		}
		// What a member reports itself is unknown when it could not be
		// asked: "-", not zeros that read as figures.
		applied, backlog, chunks := "-", "-", "-"
		if m.Reachable {
			applied, backlog, chunks = strconv.FormatUint(m.AppliedIndex, 10), strconv.FormatInt(m.RepairBacklog, 10), strconv.FormatInt(m.ChunkFiles, 10)
		}
		row := []string{strconv.FormatUint(m.NodeID, 10), m.RaftAddr, m.S3Addr, role, yesNo(m.Ready), applied, backlog, chunks}
		if zones {
			row = append(row, m.Zone)
		}
		t.row(row...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if err := shardTable(w, st.Shards); err != nil {
		return err
	}
	pending := ""
	if st.RepairPending {
		pending = " (not yet counted with the current membership: a repair pass is under way)"
	}
	fmt.Fprintf(w, "chunks with fewer than %d copies: %d%s\n", st.Replicas, st.UnderReplicated, pending)
	for _, id := range st.Down {
		fmt.Fprintf(w, "node %d is down (no answer for --replace-down-after): its shard replicas and chunk copies are made on the other members\n", id)
	}
	for _, m := range st.Members {
		if strings.HasPrefix(m.Disk, "low") {
			fmt.Fprintf(w, "node %d refuses new data (507): disk %s\n", m.NodeID, m.Disk)
		}
	}
	if len(st.Retired) > 0 {
		fmt.Fprintf(w, "retired ids: %v\n", st.Retired)
	}
	if st.Error != "" {
		fmt.Fprintf(w, "warning: %s\n", st.Error)
	}
	return nil
}

// shardTable prints the metadata shards under the members (nothing for
// a server that does not report them).
func shardTable(w io.Writer, shards []gateway.ShardStatus) error {
	if len(shards) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "SHARD", "ROLE", "REPLICAS", "LEADER", "APPLIED", "BUCKETS")
	for _, s := range shards {
		ids := make([]string, len(s.Replicas))
		for i, id := range s.Replicas {
			ids[i] = strconv.FormatUint(id, 10)
		}
		leader, applied, buckets := "-", "-", "-"
		if s.LeaderID != 0 {
			leader = strconv.FormatUint(s.LeaderID, 10)
		}
		if s.AppliedIndex != 0 {
			applied = strconv.FormatUint(s.AppliedIndex, 10)
		}
		if len(s.ReplicaApplied) > 0 {
			// Each replica's applied index: node=index.
			parts := make([]string, 0, len(s.ReplicaApplied))
			for _, id := range nodeIDs(s.ReplicaApplied, map[string]string{}) {
				parts = append(parts, id+"="+strconv.FormatUint(s.ReplicaApplied[id], 10))
			}
			applied = strings.Join(parts, ",")
		}
		if s.Buckets >= 0 {
			buckets = strconv.Itoa(s.Buckets)
		}
		t.row(strconv.FormatUint(s.ShardID, 10), s.Role, strings.Join(ids, ","), leader, applied, buckets)
	}
	return t.flush()
}

// nodeIDs returns the keys of the maps, once each, in numeric order.
func nodeIDs[A, B any](a map[string]A, b map[string]B) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		x, _ := strconv.ParseUint(out[i], 10, 64)
		y, _ := strconv.ParseUint(out[j], 10, 64)
		return x < y
	})
	return out
}
