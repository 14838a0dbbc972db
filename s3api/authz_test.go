package s3api

import (
	"strings"
	"testing"
)

// Every operation that only reads (Get*, List*, Head*) is a read for
// authorization: a read-only key may do it. Everything else is a write.
func TestReadOpsCoverEveryRead(t *testing.T) {
	s, _ := newTestServer(t)
	for op := range s.handlers {
		name := string(op)
		isRead := strings.HasPrefix(name, "Get") || strings.HasPrefix(name, "List") || strings.HasPrefix(name, "Head")
		if isRead != readOps[op] && op != OpListBuckets && op != OpNotImplemented && op != OpMethodNotAllowed &&
			op != OpAdmin && !strings.HasPrefix(name, "Health") && name != "Metrics" {
			t.Errorf("operation %s: read %v in readOps, named like a read %v", op, readOps[op], isRead)
		}
	}
}
