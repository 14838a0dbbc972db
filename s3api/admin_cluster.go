package s3api

import (
	"net/http"
	"strconv"
	"strings"
)

// Cluster administration under /_forkstore/v1/cluster/ (docs/admin-api.md):
//
//	GET    cluster/status                                        -> gateway.ClusterStatus
//	POST   cluster/members   {"node_id","raft_addr","s3_addr"}    -> member
//	DELETE cluster/members/{id}                                  -> {"node_id","removed"}
//	POST   cluster/leader    {"node_id"}                         -> {"leader_id"}
//	POST   cluster/digest                                        -> {"version","digests","errors"}
//	POST   cluster/scrub                                         -> {"nodes","errors"}
//	GET    node/status                                           -> gateway.NodeStatus (this node)

// adminCluster dispatches cluster/ and node/ requests; seg is the admin
// path split on "/".
func (s *Server) adminCluster(r *request, seg []string) (*response, error) {
	switch {
	case len(seg) == 2 && seg[0] == "node" && seg[1] == "status":
		if r.method == http.MethodGet {
			return &response{json: s.svc.NodeStatus(r.ctx)}, nil
		}
	case len(seg) == 2 && seg[1] == "status":
		if r.method == http.MethodGet {
			st, err := s.svc.ClusterStatus(r.ctx)
			if err != nil {
				return nil, err
			}
			return &response{json: st}, nil
		}
	case len(seg) == 2 && seg[1] == "members":
		if r.method == http.MethodPost {
			return s.adminAddMember(r)
		}
	case len(seg) == 3 && seg[1] == "members":
		if r.method == http.MethodDelete {
			id, err := strconv.ParseUint(seg[2], 10, 64)
			if err != nil || id == 0 {
				return nil, invalidRequest("The node id must be a positive integer.")
			}
			if err := s.svc.RemoveMember(r.ctx, id); err != nil {
				return nil, err
			}
			return &response{json: map[string]any{"node_id": id, "removed": true}}, nil
		}
	case len(seg) == 2 && seg[1] == "rebalance":
		if r.method == http.MethodPost {
			moves, replicaMoves, err := s.svc.Rebalance(r.ctx)
			if err != nil {
				return nil, err
			}
			out := map[string]any{"moves": []any{}}
			if moves != nil {
				out["moves"] = moves
			}
			if replicaMoves != nil {
				out["replica_moves"] = replicaMoves
			}
			return &response{json: out}, nil
		}
	case len(seg) == 2 && seg[1] == "leader":
		if r.method == http.MethodPost {
			var in struct {
				NodeID uint64 `json:"node_id"`
			}
			if err := r.readJSON(&in); err != nil {
				return nil, err
			}
			if in.NodeID == 0 {
				return nil, invalidRequest("node_id must be a positive integer.")
			}
			if err := s.svc.TransferLeader(r.ctx, in.NodeID); err != nil {
				return nil, err
			}
			return &response{json: map[string]any{"leader_id": in.NodeID}}, nil
		}
	case len(seg) == 2 && seg[1] == "digest":
		if r.method == http.MethodPost {
			d, err := s.svc.ClusterDigest(r.ctx)
			if err != nil {
				return nil, err
			}
			out := map[string]any{"version": u64(d.Version), "digests": d.Digests, "errors": d.Errors}
			if len(d.Shards) > 0 {
				shards := map[string]any{}
				for id, sd := range d.Shards {
					shards[id] = map[string]any{"version": u64(sd.Version), "digests": sd.Digests, "errors": sd.Errors}
				}
				out["shards"] = shards
			}
			return &response{json: out}, nil
		}
	case len(seg) == 2 && seg[1] == "scrub":
		if r.method == http.MethodPost {
			res, errs, err := s.svc.ClusterScrub(r.ctx)
			if err != nil {
				return nil, err
			}
			return &response{json: map[string]any{"nodes": res, "errors": errs}}, nil
		}
	default:
		return nil, errAdminNotFound
	}
	return nil, ErrMethodNotAllowed
}

func (s *Server) adminAddMember(r *request) (*response, error) {
	var in struct {
		NodeID   uint64 `json:"node_id"`
		RaftAddr string `json:"raft_addr"`
		S3Addr   string `json:"s3_addr"`
	}
	if err := r.readJSON(&in); err != nil {
		return nil, err
	}
	in.RaftAddr, in.S3Addr = strings.TrimSpace(in.RaftAddr), strings.TrimSpace(in.S3Addr)
	m, err := s.svc.AddMember(r.ctx, in.NodeID, in.RaftAddr, in.S3Addr)
	if err != nil {
		return nil, err
	}
	return &response{json: m}, nil
}
