package gateway

// Where a shard's requests go. Every node holds the directory shard; a
// data shard may be held by a subset of the members (its replicas). A
// node proposes and reads through its own replica when it holds one, and
// sends the request to a holder otherwise.

// hosts reports whether this node runs a replica of shard.
func (n *Node) hosts(shard uint64) bool { return n.host.Hosts(shard) }

// holders returns the members holding a replica of shard, its leader
// first when known. Today every member holds every shard.
func (n *Node) holders(shard uint64) []member {
	ms := n.cluster.snapshot()
	lead, ok := n.host.LeaderNode(shard)
	if !ok {
		return ms
	}
	out := make([]member, 0, len(ms))
	for _, m := range ms {
		if m.ID == lead {
			out = append([]member{m}, out...)
		} else {
			out = append(out, m)
		}
	}
	return out
}
