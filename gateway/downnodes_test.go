package gateway

import (
	"reflect"
	"testing"
	"time"
)

// A member is down once every status request for the whole wait failed;
// an answer clears it, and a member that left is forgotten.
func TestDownWatch(t *testing.T) {
	var d downWatch
	t0 := time.Unix(1000, 0)
	after := time.Minute
	d.observe(2, false, t0)
	d.observe(3, true, t0)
	d.observe(2, false, t0.Add(30*time.Second)) // the run's first failure counts
	if got := d.down(after, t0.Add(59*time.Second)); len(got) != 0 {
		t.Fatalf("down before the wait: %v", got)
	}
	if got := d.down(after, t0.Add(time.Minute)); !reflect.DeepEqual(got, []uint64{2}) {
		t.Fatalf("down after the wait: %v, want [2]", got)
	}
	if got := d.down(0, t0.Add(time.Hour)); got != nil {
		t.Fatalf("down with replacement off: %v", got)
	}
	d.observe(2, true, t0.Add(2*time.Minute))
	d.observe(2, false, t0.Add(3*time.Minute)) // a new run of failures
	if got := d.down(after, t0.Add(3*time.Minute+59*time.Second)); len(got) != 0 {
		t.Fatalf("down right after answering again: %v", got)
	}
	d.observe(4, false, t0)
	d.keep([]uint64{1, 2, 3})
	if got := d.down(after, t0.Add(time.Hour)); !reflect.DeepEqual(got, []uint64{2}) {
		t.Fatalf("down after node 4 left: %v, want [2]", got)
	}
}

// Down members are left out of placement only while R members remain,
// and never the node itself.
func TestWithoutDown(t *testing.T) {
	five := nodesOf(1, 2, 3, 4, 5)
	for _, tc := range []struct {
		name  string
		nodes []placeNode
		down  []uint64
		want  []placeNode
	}{
		{"none down", five, nil, five},
		{"one of five", five, []uint64{4}, nodesOf(1, 2, 3, 5)},
		{"two of five", five, []uint64{2, 4}, nodesOf(1, 3, 5)},
		{"three of five: fewer than R would remain", five, []uint64{2, 3, 4}, five},
		{"one of three: nowhere to move", nodesOf(1, 2, 3), []uint64{3}, nodesOf(1, 2, 3)},
		{"self", five, []uint64{1, 4}, nodesOf(1, 2, 3, 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := withoutDown(tc.nodes, tc.down, 1, 3); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("withoutDown(%v, down %v) = %v, want %v", tc.nodes, tc.down, got, tc.want)
			}
		})
	}
	if !reflect.DeepEqual(five, nodesOf(1, 2, 3, 4, 5)) {
		t.Fatalf("withoutDown changed its input: %v", five)
	}
}
