package gateway

import "slices"

// Where a shard's requests go. Every node holds the directory shard; a
// data shard may be held by a subset of the members (its replicas). A
// node proposes and reads through its own replica when it holds one, and
// sends the request to a holder otherwise.

// hosts reports whether this node runs a replica of shard.
func (n *Node) hosts(shard uint64) bool { return n.host.Hosts(shard) }

// holders returns the members holding a replica of shard, its leader
// first when known: every member for the directory shard, for every shard
// with --meta-replicas 0, and for a data shard with no placement record
// yet (all members hold it from the cluster's creation); else the members
// its placement record lists (placement.go).
func (n *Node) holders(shard uint64) []member {
	ms := n.cluster.snapshot()
	ids := n.holderIDs(shard)
	lead, ok := n.host.LeaderNode(shard)
	if !ok && shard != metaShard {
		// Not held here: the leader the other holders report is not
		// known; the record's order will do.
		lead = 0
	}
	return leaderFirst(ms, lead, func(m member) bool { return slices.Contains(ids, m.ID) })
}

// leaderFirst returns the members of ms that keep accepts, in their order
// but for lead's, which comes first.
func leaderFirst(ms []member, lead uint64, keep func(member) bool) []member {
	out := make([]member, 0, len(ms))
	for _, m := range ms {
		if !keep(m) {
			continue
		}
		if m.ID == lead {
			out = append([]member{m}, out...)
		} else {
			out = append(out, m)
		}
	}
	return out
}

// replicaIDOf returns node's replica id of shard: from the placement
// record, else the node id (epoch 0).
func (n *Node) replicaIDOf(shard, node uint64) uint64 {
	if shard != metaShard && n.placed() {
		if rs, ok := n.place.record(shard); ok {
			for _, r := range rs {
				if r.Node == node {
					return r.ID
				}
			}
		}
	}
	return node
}
