//go:build cluster

package cluster

import (
	"bytes"
	"fmt"
	"testing"
)

// Chunk copies spread over zones first: with two copies of each chunk on
// five nodes in three zones (a: 1, 2; b: 3, 4; c: 5), every chunk has a
// copy outside zone a, so with both nodes of zone a down every object
// still reads back whole. (Placed by score alone, about one chunk in ten
// would have both copies in zone a.)
func TestZoneDownLosesNothing(t *testing.T) {
	c := startCluster(t, 5, withArgs("--replicas", "2"),
		withNodeArgs(1, "--zone", "a"), withNodeArgs(2, "--zone", "a"),
		withNodeArgs(3, "--zone", "b"), withNodeArgs(4, "--zone", "b"),
		withNodeArgs(5, "--zone", "c"))
	n1 := c.Node(1)
	// Every node publishes its addresses and zone as it starts: wait for
	// them, so that the first chunks are placed by zone.
	waitFor(t, convergeTimout, "every node to reach every other and see its zone", func() error {
		for _, n := range c.Nodes() {
			st, err := n.ClusterStatus()
			if err != nil {
				return err
			}
			for _, m := range st.Members {
				if !m.Reachable || m.Zone == "" {
					return fmt.Errorf("node %d sees node %d reachable %v, zone %q", n.ID, m.NodeID, m.Reachable, m.Zone)
				}
			}
		}
		return nil
	})
	must(t, "create bucket", n1.makeBucket("zones"))
	bodies := map[string][]byte{}
	for i := range 30 {
		key := fmt.Sprintf("obj-%02d", i)
		b := bytes.Repeat([]byte{byte(i)}, 200<<10+i)
		bodies[key] = b
		must(t, "put "+key, c.Node(uint64(1+i%5)).putObject("zones", key, b))
	}
	c.WaitConverged(t)
	c.Node(1).Kill()
	c.Node(2).Kill()
	n3 := c.Node(3)
	for key, want := range bodies {
		got, err := n3.getObject("zones", key, "")
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s with zone a down: %d bytes, %v", key, len(got), err)
		}
	}
}
