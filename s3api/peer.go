package s3api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/forkstore/forkstore/gateway"
)

// Node-to-node API under /_forkstore/peer/, authenticated with the cluster
// key (gateway.VerifyPeer) instead of SigV4. Answers are JSON.
//
//	PUT  chunks/{id}?size=    body: the chunk, then its CRC32C and tag
//	                          (block/bodymac.go), checked as it streams  -> 204
//	GET  chunks/{id}?digest=  the local copy, verified                   -> bytes
//	GET  status                                                          -> gateway.NodeStatus
//	GET  ping                 nothing: the node answers (block.Peer.Reach) -> 204
//	GET  leaders              the leader of each shard held here, as its
//	                          replica knows it                           -> {"leaders": {shard: node}}
//	POST leader?shard=&to=    move the leadership of a shard held here    -> {}
//	GET  digest?version=V     this replica's state digest at V           -> {"digest"}
//	POST has                  [{id,size}]: which copies are here          -> [id]
//	POST scrub                a scrub pass on this node                  -> gateway.ScrubResult
//	POST meta/propose?shard=&timeout_ms=  body: an encoded command, proposed
//	                          through this node's replica of the shard   -> answer (gateway.PeerMeta)
//	POST meta/read?shard=&timeout_ms=     body: an encoded query, run
//	                          linearizably on this node's replica        -> answer (gateway.PeerMeta)

// peer dispatches /_forkstore/peer/ requests; dispatch has verified the
// cluster key signature (r.peerBody is the signed body digest).
func (s *Server) peer(r *request) (*response, error) {
	path := r.route.AdminPath
	switch {
	case strings.HasPrefix(path, "chunks/"):
		id := strings.TrimPrefix(path, "chunks/")
		switch r.method {
		case http.MethodPut:
			return s.peerPutChunk(r, id)
		case http.MethodGet:
			return s.peerGetChunk(r, id)
		}
	case path == "status" && r.method == http.MethodGet:
		return &response{json: s.svc.NodeStatus(r.ctx)}, nil
	case path == "ping" && r.method == http.MethodGet:
		return &response{status: http.StatusNoContent}, nil
	case path == "leaders" && r.method == http.MethodGet:
		return &response{json: map[string]any{"leaders": s.svc.LocalLeaders()}}, nil
	case path == "leader" && r.method == http.MethodPost:
		shard, err := strconv.ParseUint(r.query.Get("shard"), 10, 64)
		if err != nil || shard == 0 {
			return nil, invalidRequest("shard must be a shard id")
		}
		to, err := strconv.ParseUint(r.query.Get("to"), 10, 64)
		if err != nil || to == 0 {
			return nil, invalidRequest("to must be a node id")
		}
		if err := s.svc.TransferShardLeader(r.ctx, shard, to); err != nil {
			return nil, err
		}
		return &response{json: map[string]any{}}, nil
	case path == "digest" && r.method == http.MethodGet:
		v, err := strconv.ParseUint(r.query.Get("version"), 10, 64)
		if err != nil {
			return nil, invalidRequest("version must be a decimal version")
		}
		shard := uint64(1)
		if q := r.query.Get("shard"); q != "" {
			if shard, err = strconv.ParseUint(q, 10, 64); err != nil || shard == 0 {
				return nil, invalidRequest("shard must be a shard id")
			}
		}
		d, err := s.svc.LocalDigest(r.ctx, shard, v)
		if err != nil {
			return nil, err
		}
		return &response{json: map[string]string{"digest": d}}, nil
	case path == "has" && r.method == http.MethodPost:
		b, err := gateway.ReadPeerBody(r.peerBody, r.raw, 4<<20)
		if err != nil {
			return nil, err
		}
		var items []gateway.HasItem
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, invalidRequest("want a JSON list of {id, size}")
		}
		return &response{json: s.svc.HasChunks(items)}, nil
	case (path == "meta/propose" || path == "meta/read") && r.method == http.MethodPost:
		return s.peerMeta(r, strings.TrimPrefix(path, "meta/"))
	case path == "scrub" && r.method == http.MethodPost:
		res, err := s.svc.Scrub(r.ctx)
		if err != nil {
			return nil, err
		}
		return &response{json: res}, nil
	default:
		return nil, errAdminNotFound
	}
	return nil, ErrMethodNotAllowed
}

// maxPeerMetaBody bounds a forwarded command or query (a command is at
// most the Raft max entry size, 64 MiB by default).
const maxPeerMetaBody = 64 << 20

// peerMeta serves a proposal or a read that a node without a replica of
// the shard forwards to this one.
func (s *Server) peerMeta(r *request, op string) (*response, error) {
	shard, err := strconv.ParseUint(r.query.Get("shard"), 10, 64)
	if err != nil || shard == 0 {
		return nil, invalidRequest("shard must be a shard id")
	}
	var timeout time.Duration
	if t := r.query.Get("timeout_ms"); t != "" {
		ms, err := strconv.ParseInt(t, 10, 64)
		if err != nil || ms <= 0 {
			return nil, invalidRequest("timeout_ms must be a positive number of milliseconds")
		}
		timeout = time.Duration(ms) * time.Millisecond
	}
	var at uint64
	if v := r.query.Get("at"); v != "" {
		if at, err = strconv.ParseUint(v, 10, 64); err != nil {
			return nil, invalidRequest("at must be a version of the shard")
		}
	}
	b, err := gateway.ReadPeerBody(r.peerBody, r.raw, maxPeerMetaBody)
	if err != nil {
		return nil, err
	}
	out := s.svc.PeerMeta(r.ctx, gateway.PeerMetaRequest{
		Op: op, Shard: shard, Timeout: timeout, At: at, Stale: r.query.Get("stale") == "1",
		BinaryObjects: r.query.Get("objects") == "binary", Body: b,
	})
	return &response{body: io.NopCloser(bytes.NewReader(out)), size: int64(len(out))}, nil
}

func (s *Server) peerPutChunk(r *request, id string) (*response, error) {
	size, err := strconv.ParseInt(r.query.Get("size"), 10, 64)
	if err != nil || size < 0 {
		return nil, invalidRequest("a chunk copy needs its size=")
	}
	if err := s.svc.ReceiveChunk(r.ctx, id, size, r.peerBody, r.raw); err != nil {
		if errors.Is(err, gateway.ErrChunkMissing) {
			return nil, errPeerBody
		}
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) peerGetChunk(r *request, id string) (*response, error) {
	size, crc, ok := gateway.ParseChunkDigest(r.query.Get("digest"))
	if !ok {
		return nil, invalidRequest("digest must be size:crc32c")
	}
	if !s.svc.HasLocalChunk(id, size) {
		return nil, errAdminNotFound
	}
	rc, err := s.svc.OpenLocalChunk(id, size, crc)
	if err != nil {
		return nil, err
	}
	return &response{body: rc, size: size}, nil
}
