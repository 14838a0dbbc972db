package console

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/forkstore/forkstore/gateway"
)

// TestClusterLiveZonesAndShards renders the cluster page's live part for
// a cluster whose nodes have zones and whose metadata has several
// shards: a zone column with each node's zone (escaped), and a row per
// shard with its unknown figures shown as such.
func TestClusterLiveZonesAndShards(t *testing.T) {
	c, err := New(Config{Service: &gateway.Service{}, Access: noAccess{}})
	if err != nil {
		t.Fatal(err)
	}
	st := &gateway.ClusterStatus{LeaderID: 2, Replicas: 3,
		Members: []gateway.NodeStatus{{NodeID: 1, Zone: "eu-1a"}, {NodeID: 2, Zone: "<b>eu-1b</b>"}, {NodeID: 3}},
		Shards: []gateway.ShardStatus{
			{ShardID: 1, Role: "directory", Replicas: []uint64{1, 2, 3}, LeaderID: 2, AppliedIndex: 90, Buckets: -1},
			{ShardID: 7, Role: "data", Replicas: []uint64{2, 3}, Buckets: 41},
		}}
	var b strings.Builder
	if err := c.pages["cluster"].ExecuteTemplate(&b, "live", map[string]any{"Cluster": st, "Zones": true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"<th>Zone</th>", `<td class="zone">eu-1a</td>`, `<td class="zone">&lt;b&gt;eu-1b&lt;/b&gt;</td>`,
		`<tr data-shard="1"><td>1</td><td>directory</td><td>1, 2, 3</td><td>node 2</td><td class="num">90</td><td class="num">–</td></tr>`,
		`<tr data-shard="7"><td>7</td><td>data</td><td>2, 3</td><td>unknown</td><td class="num">–</td><td class="num">41</td></tr>`} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q\n%s", want, out)
		}
	}
}

// noAccess refuses everybody: the test renders without requests.
type noAccess struct{}

func (noAccess) SignIn(context.Context, string, string) (*gateway.Principal, error) {
	return nil, errors.New("no")
}
func (noAccess) Principal(context.Context, string) (*gateway.Principal, bool) { return nil, false }
func (noAccess) Authorize(context.Context, *gateway.Principal, string, string, string) error {
	return errors.New("no")
}
