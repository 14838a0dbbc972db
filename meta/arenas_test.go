package meta

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestArenaPool: Badger's DB still has its pool of table-building arenas
// where arenaPool looks (a Badger whose DB moved it fails here), the
// store's DB keeps tableArenas of them in a build without the race
// detector (arenas.go), and tables are built through that pool and read.
func TestArenaPool(t *testing.T) {
	fn, _ := factory(t, t.TempDir())
	a := openReplica(t, fn, 1, 1)
	p, ok := arenaPool(a.fsm.db)
	if !ok {
		t.Fatal("badger.DB has no allocPool of type *z.AllocatorPool")
	}
	kept := reflect.ValueOf(*p).Elem().FieldByName("allocCh")
	if !kept.IsValid() {
		t.Fatal("z.AllocatorPool has no allocCh")
	}
	want := tableArenas
	if raceEnabled {
		want = 8 // Badger's own pool
	}
	if kept.Cap() != want {
		t.Fatalf("the DB keeps %d arenas, want %d", kept.Cap(), want)
	}

	// Enough to fill the memtables (8 MiB by default) a few times over,
	// inline: memtable flushes and compactions build tables.
	a.createBucket("b")
	body := strings.Repeat("x", 48<<10)
	const n = 600
	for i := range n {
		a.put("b", fmt.Sprintf("k%04d", i), body+fmt.Sprint(i))
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(a.fsm.db.Tables()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no table built")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	for i := range n {
		a.mustGet("b", fmt.Sprintf("k%04d", i), 0, body+fmt.Sprint(i))
	}
}
