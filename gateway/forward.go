package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/forkstore/forkstore/meta"
	"github.com/forkstore/forkstore/raft"
)

// Requests of a shard this node holds no replica of. A proposal is
// already bytes (meta.EncodeCommand) and a read a query value
// (meta.EncodeQuery); both go to a holder of the shard over the peer API
// (POST /_forkstore/peer/meta/propose and meta/read, signed with the
// cluster key), which runs them through its own replica and answers with
// the outcome. The shard's leader is asked first when known (it orders
// every proposal and serves reads without another hop); a holder that
// cannot be reached, or no longer holds the shard, is skipped for the
// next. A proposal whose answer was lost may have been applied: it is sent
// again under the same request id, which the state machine applies once.
//
// An answer is one status byte, the leader of the shard as the holder
// knows it (uvarint node id, 0 unknown), then the outcome: the Raft result
// (uvarint value, data) of a proposal or the encoded query result of a
// read; or, for a failure, its message.

// Answer statuses of a forwarded request.
const (
	fwdOK          byte = 0
	fwdUnavailable byte = 1 // the holder's replica could not answer in time
	fwdNotHolder   byte = 2 // the node holds no replica of the shard (placement moved)
	fwdNoQuorum    byte = 3 // the shard has no leader the holder knows of
	fwdRefused     byte = 4 // the holder's disk is too full for more data
)

// maxForwardAnswer bounds the answer of a forwarded request (a large
// listing or a batch result).
const maxForwardAnswer = 256 << 20

// forwardRetry is the pause between two rounds over a shard's holders.
const forwardRetry = 50 * time.Millisecond

// leaderHints remembers, per shard, the leader a holder last named.
type leaderHints struct{ m sync.Map }

func (h *leaderHints) get(shard uint64) uint64 {
	if v, ok := h.m.Load(shard); ok {
		return v.(uint64)
	}
	return 0
}

func (h *leaderHints) set(shard, node uint64) {
	if node == 0 {
		return
	}
	if cur, ok := h.m.Load(shard); !ok || cur.(uint64) != node {
		h.m.Store(shard, node)
	}
}

// forwardOrder is the order in which the holders of shard are asked: the
// leader named last first.
func (n *Node) forwardOrder(shard uint64) []member {
	return leaderFirst(n.holders(shard), n.hints.get(shard), func(m member) bool {
		return m.ID != n.cfg.Raft.NodeID && m.S3Addr != ""
	})
}

// forwardPropose proposes cmd (encoded) through a holder of shard.
func (s *Service) forwardPropose(ctx context.Context, shard uint64, cmd []byte) (sm.Result, error) {
	b, err := s.forward(ctx, shard, "propose", cmd)
	if err != nil {
		return sm.Result{}, err
	}
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return sm.Result{}, fmt.Errorf("%w: a forwarded proposal's answer is malformed", ErrUnavailable)
	}
	return sm.Result{Value: v, Data: b[k:]}, nil
}

// forwardReadAt runs q, a read of shard's history as of the fork point at
// (0: a linearizable read), on a holder of shard, which answers it from
// its own replica without a leader round when that has applied up to at
// (readAtOn). A holder that does not know the parameter (an older node)
// reads linearizably: the same answer.
func (s *Service) forwardReadAt(ctx context.Context, shard, at uint64, q meta.Q) (any, error) {
	body, err := meta.EncodeQuery(q)
	if err != nil {
		return nil, fmt.Errorf("%w: shard %d is not held here: %v", ErrUnavailable, shard, err)
	}
	op := "read"
	if at > 0 {
		op += "?at=" + strconv.FormatUint(at, 10)
	}
	b, err := s.forward(ctx, shard, op, body)
	if err != nil {
		return nil, err
	}
	return meta.DecodeQueryResult(b)
}

// forwardReadStale runs q on a holder's replica of shard as it stands,
// without a round to the leader: for background work that any replica's
// state answers (Node.readBackground). The holder the sender asks first
// is the leader it was last told of, whose replica is the freshest. A
// holder that does not know the parameter (an older node) reads
// linearizably: a newer answer of the same kind.
func (s *Service) forwardReadStale(ctx context.Context, shard uint64, q meta.Q) (any, error) {
	body, err := meta.EncodeQuery(q)
	if err != nil {
		return nil, fmt.Errorf("%w: shard %d is not held here: %v", ErrUnavailable, shard, err)
	}
	b, err := s.forward(ctx, shard, "read?stale=1", body)
	if err != nil {
		return nil, err
	}
	return meta.DecodeQueryResult(b)
}

// forward sends a request of shard to its holders until one answers or
// ctx ends, and returns the outcome part of the answer. op may carry
// query parameters of its own ("read?at=N").
func (s *Service) forward(ctx context.Context, shard uint64, op string, body []byte) ([]byte, error) {
	op, params, _ := strings.Cut(op, "?")
	ctx, cancel := withDeadline(ctx, 10*time.Second)
	defer cancel()
	n := s.node
	var last error
	for round := 0; ; round++ {
		order := n.forwardOrder(shard)
		if len(order) == 0 {
			last = fmt.Errorf("no holder of shard %d is known", shard)
		}
		for _, m := range order {
			deadline, _ := ctx.Deadline()
			q, _ := url.ParseQuery(params)
			q.Set("shard", strconv.FormatUint(shard, 10))
			if op == "read" {
				q.Set("objects", "binary") // an *Object answer in its binary form
			}
			q.Set("timeout_ms", strconv.FormatInt(max(1, time.Until(deadline).Milliseconds()), 10))
			b, err := n.cluster.peer.Post(ctx, m.peer(), "meta/"+op+"?"+q.Encode(), body, maxForwardAnswer)
			if err != nil {
				last = fmt.Errorf("node %d: %w", m.ID, err)
				continue
			}
			if len(b) < 2 {
				last = fmt.Errorf("node %d: short answer", m.ID)
				continue
			}
			lead, k := binary.Uvarint(b[1:])
			if k <= 0 {
				last = fmt.Errorf("node %d: malformed answer", m.ID)
				continue
			}
			n.hints.set(shard, lead)
			out := b[1+k:]
			switch b[0] {
			case fwdOK:
				return out, nil
			case fwdRefused:
				return nil, fmt.Errorf("%w: node %d: %s", ErrStorageFull, m.ID, out)
			case fwdNoQuorum:
				return nil, fmt.Errorf("%w: shard %d (through node %d): %s", ErrNoQuorum, shard, m.ID, out)
			case fwdNotHolder:
				last = fmt.Errorf("node %d no longer holds shard %d", m.ID, shard)
			default:
				last = fmt.Errorf("node %d: %s", m.ID, out)
			}
		}
		if ctx.Err() != nil || round >= 20 {
			break
		}
		t := time.NewTimer(forwardRetry)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
		if round == 2 {
			// The placement may have moved: learn it again.
			_ = n.cluster.refresh(ctx)
		}
	}
	return nil, fmt.Errorf("%w: %s on shard %d: %v", ErrUnavailable, op, shard, last)
}

// withDeadline gives ctx a deadline d away when it has none.
func withDeadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// PeerMetaRequest is a request that a node holding no replica of a shard
// forwards to one that holds it.
type PeerMetaRequest struct {
	Op      string // "propose" or "read"
	Shard   uint64
	Timeout time.Duration // 0: none beyond the request's
	// At > 0 makes a read one of the shard's history as of that fork
	// point (readAtOn).
	At uint64
	// Stale makes a read run on this node's replica as it stands, without
	// a leader round (forwardReadStale).
	Stale bool
	// BinaryObjects asks for an *Object answer in its binary form
	// (meta.EncodeQueryResultBinary): senders before it read JSON only.
	BinaryObjects bool
	Body          []byte
}

// PeerMeta serves a forwarded request through this node's replica and
// returns the answer. It never forwards again: a node without a replica
// of the shard says so. A read at a fork point runs on this node's
// replica without a leader round when it has applied up to it.
func (s *Service) PeerMeta(ctx context.Context, req PeerMetaRequest) []byte {
	n := s.node
	op, shard, at, body := req.Op, req.Shard, req.At, req.Body
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	answer := func(status byte, out []byte) []byte {
		lead, _ := n.host.LeaderNode(shard)
		b := make([]byte, 1, 1+binary.MaxVarintLen64+len(out))
		b[0] = status
		b = binary.AppendUvarint(b, lead)
		return append(b, out...)
	}
	if !n.hosts(shard) {
		return answer(fwdNotHolder, []byte(fmt.Sprintf("node %d holds no replica of shard %d", n.cfg.Raft.NodeID, shard)))
	}
	failed := func(err error) []byte {
		if errors.Is(err, raft.ErrNoQuorum) {
			return answer(fwdNoQuorum, []byte(err.Error()))
		}
		return answer(fwdUnavailable, []byte(err.Error()))
	}
	switch op {
	case "propose":
		if err := n.disk.refuse(); err != nil {
			// The space left is kept for applies (proposeOn): refuse a
			// command that adds data, as if it were proposed here.
			if cmd, derr := meta.DecodeCommand(body); derr != nil || growsData(cmd) {
				return answer(fwdRefused, []byte(err.Error()))
			}
		}
		start := time.Now()
		res, err := n.host.Propose(ctx, shard, body)
		n.metrics.observeProposal(shard, time.Since(start))
		if err != nil {
			return failed(err)
		}
		out := binary.AppendUvarint(nil, res.Value)
		return answer(fwdOK, append(out, res.Data...))
	case "read":
		q, err := meta.DecodeQuery(body)
		if err != nil {
			return answer(fwdUnavailable, []byte(err.Error()))
		}
		var v any
		ok := false
		switch {
		case req.Stale:
			v, err = n.local.Read(ctx, shard, n.replicaOf(shard), q)
			n.peerReadsStale.Add(1)
			ok = true
		case at > 0:
			v, ok = n.readAtLocal(shard, at, q)
		}
		if !ok {
			if at > 0 {
				n.readsAtLinear.Add(1)
			} else {
				n.peerReadsLinear.Add(1)
			}
			v, err = n.host.Read(ctx, shard, q)
		}
		if err != nil && isRaftFailure(err) {
			return failed(err)
		}
		encode := meta.EncodeQueryResult
		if req.BinaryObjects {
			encode = meta.EncodeQueryResultBinary
		}
		out, eerr := encode(v, err)
		if eerr != nil {
			return answer(fwdUnavailable, []byte(eerr.Error()))
		}
		return answer(fwdOK, out)
	}
	return answer(fwdUnavailable, []byte("unknown operation "+op))
}

// isRaftFailure reports whether err is Raft's (the read did not run) rather
// than the query's own outcome.
func isRaftFailure(err error) bool {
	return errors.Is(err, raft.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
