package raft

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// scriptConn is a net.Conn that reads a script and discards what is
// written to it (or keeps it in out).
type scriptConn struct {
	r   io.Reader
	out bytes.Buffer
}

func (c *scriptConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *scriptConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return nil }
func (c *scriptConn) RemoteAddr() net.Addr             { return nil }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// zeros is a nonce source for a server whose replies a script can know.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

const fuzzDID = 9

// fuzzTransport is a listening side with small frame limits whose nonces
// are all zero.
func fuzzTransport(got *[]pb.MessageBatch) *transport {
	return &transport{
		auth:   newPeerAuth(testKey, fuzzDID, zeros{}),
		limits: frameLimits{batch: 64 << 10, chunk: 64 << 10},
		did:    fuzzDID,
		log:    slog.New(slog.DiscardHandler),
		onBatch: func(b pb.MessageBatch) {
			if got != nil {
				*got = append(*got, b)
			}
		},
		onChunk: func(pb.Chunk) bool { return true },
	}
}

// clientScript is what a client with key sends fuzzTransport: its hello
// and proof, then the frames frames writes.
func clientScript(key []byte, frames func(w *frameWriter)) []byte {
	a := newPeerAuth(key, fuzzDID, bytes.NewReader(bytes.Repeat([]byte{7}, nonceSize)))
	ch, _ := a.hello()
	sh := append(append(append([]byte{}, helloMagic[:]...), make([]byte, nonceSize)...), 0, 0, 0, 0, 0, 0, 0, fuzzDID)
	_, cp, fk := a.proofs(ch, sh)
	c := &scriptConn{}
	c.out.Write(ch)
	c.out.Write(cp)
	if frames != nil {
		frames(&frameWriter{conn: c, mac: newFrameMAC(fk)})
	}
	return c.out.Bytes()
}

func validBatch() []byte {
	b := pb.MessageBatch{
		DeploymentId: fuzzDID, BinVer: raftio.TransportBinVersion, SourceAddress: "127.0.0.1:7100",
		Requests: []pb.Message{{Type: pb.Replicate, ShardID: 1, From: 1, To: 2, Term: 3,
			Entries: []pb.Entry{{Index: 4, Term: 3, Cmd: []byte("command")}}}},
	}
	p, _ := b.Marshal()
	return p
}

func validChunk() []byte {
	c := pb.Chunk{ShardID: 1, ReplicaID: 2, From: 1, DeploymentId: fuzzDID, BinVer: raftio.TransportBinVersion,
		ChunkCount: 1, ChunkSize: 4, Data: []byte("data")}
	p, _ := c.Marshal()
	return p
}

func transportSeeds() [][]byte {
	return [][]byte{
		nil,
		oversizeFrame(),
		clientScript(testKey, nil),
		clientScript(testKey, func(w *frameWriter) {
			_ = w.write(frameRaft, validBatch())
			_ = w.write(frameSnapshot, validChunk())
			_, _ = w.conn.Write(poisonMagic[:])
		}),
		append(clientScript(testKey, nil), oversizeFrame()...),
		append(clientScript(testKey, nil), dragonboatFrame(frameRaft, uint64(len(validBatch())), validBatch())...),
		clientScript([]byte("not-the-cluster-key"), func(w *frameWriter) { _ = w.write(frameRaft, validBatch()) }),
	}
}

// TestTransportScripts checks the seeds' outcomes: only frames of a client
// that proved the key, each with its MAC, reach Raft.
func TestTransportScripts(t *testing.T) {
	seeds := transportSeeds()
	for i, want := range []int{0, 0, 0, 1, 0, 0, 0} {
		var got []pb.MessageBatch
		fuzzTransport(&got).serve(&scriptConn{r: bytes.NewReader(seeds[i])}, func() {})
		if len(got) != want {
			t.Errorf("seed %d delivered %d batches, want %d", i, len(got), want)
		}
		for _, b := range got {
			if b.DeploymentId != fuzzDID || len(b.Requests) != 1 || string(b.Requests[0].Entries[0].Cmd) != "command" {
				t.Errorf("seed %d delivered %+v", i, b)
			}
		}
	}
}

// FuzzTransportServe feeds arbitrary bytes to the listening side of the
// transport (handshake, then frames): no input may panic or allocate past
// the frame limits.
func FuzzTransportServe(f *testing.F) {
	for _, s := range transportSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzTransport(nil).serve(&scriptConn{r: bytes.NewReader(data)}, func() {})
	})
}

// FuzzTransportFrames sends arbitrary payloads in correctly authenticated
// frames (what a peer holding the key could send): decoding them must not
// panic either.
func FuzzTransportFrames(f *testing.F) {
	f.Add(false, validBatch())
	f.Add(true, validChunk())
	f.Add(false, []byte{})
	f.Fuzz(func(t *testing.T, chunk bool, payload []byte) {
		method := frameRaft
		if chunk {
			method = frameSnapshot
		}
		script := clientScript(testKey, func(w *frameWriter) { _ = w.write(method, payload) })
		fuzzTransport(nil).serve(&scriptConn{r: bytes.NewReader(script)}, func() {})
	})
}
