package gateway

import (
	"strings"
	"testing"
)

// The node's key cache holds keys read at one generation: an older read
// never enters it, a newer one (or a reset) starts it over, and a reset to
// an older generation is ignored.
func TestKeyCacheGenerations(t *testing.T) {
	var c keyCache
	c.put(&Principal{AccessKey: "A", gen: 5})
	if c.get("A") == nil {
		t.Fatal("a key read at the first generation was not cached")
	}
	c.put(&Principal{AccessKey: "B", gen: 4})
	if c.get("B") != nil {
		t.Fatal("a key read at an older generation was cached")
	}
	c.reset(3)
	if c.get("A") == nil {
		t.Fatal("a reset to an older generation dropped the cache")
	}
	c.reset(7)
	if c.get("A") != nil {
		t.Fatal("a newer generation kept an old entry")
	}
	c.put(&Principal{AccessKey: "A", gen: 6})
	if c.get("A") != nil {
		t.Fatal("a read older than the cache's generation was cached")
	}
	c.put(&Principal{AccessKey: "A", gen: 7})
	if c.get("A") == nil {
		t.Fatal("a read at the cache's generation was not cached")
	}
}

// Sealed secrets open only under the password that sealed them, for the
// key id they were sealed for; the previous password opens and marks
// them stale.
func TestSealer(t *testing.T) {
	old, err := newSealer("old-password", "")
	if err != nil {
		t.Fatal(err)
	}
	sealed := old.seal("FSK1", "the secret")
	if strings.Contains(string(sealed), "the secret") {
		t.Fatal("the secret is in the clear")
	}
	if got, stale, err := old.open("FSK1", sealed); err != nil || stale || got != "the secret" {
		t.Fatalf("open: %q %v %v", got, stale, err)
	}
	if _, _, err := old.open("FSK2", sealed); err == nil {
		t.Fatal("a secret opened for another key id")
	}
	cur, err := newSealer("new-password", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cur.open("FSK1", sealed); err == nil {
		t.Fatal("a secret opened under another root password")
	}
	both, err := newSealer("new-password", "old-password")
	if err != nil {
		t.Fatal(err)
	}
	if got, stale, err := both.open("FSK1", sealed); err != nil || !stale || got != "the secret" {
		t.Fatalf("open with the previous password: %q %v %v", got, stale, err)
	}
	for _, bad := range [][]byte{nil, {1}, append([]byte{2}, sealed[1:]...), append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1)} {
		if _, _, err := both.open("FSK1", bad); err == nil {
			t.Fatalf("a malformed sealed secret %x opened", bad)
		}
	}
}
