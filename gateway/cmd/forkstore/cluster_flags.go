package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/forkstore/forkstore/gateway"
)

// clusterFlags are the server's cluster settings.
type clusterFlags struct {
	initialMembers, join, advertise, clusterKey       string
	tlsCA, tlsCert, tlsKey                            string
	rttMS, electionRTT, heartbeatRTT, snapshotEntries string
	replicas, repairInterval, scrubInterval           string
	replaceDownAfter                                  string
	metaShards, metaReplicas, zone                    string
	stepWorkers                                       string
	quiesce                                           bool
}

func (f *clusterFlags) define(a *app, fs *pflag.FlagSet) {
	envString(a, fs, &f.initialMembers, "initial-members", "", "founding members id=raft-addr,..., the same on each founding node (none: a cluster of one)")
	envString(a, fs, &f.join, "join", "false", "start as a new member of a running cluster, after 'forkstore cluster add' (true or false)")
	fs.Lookup("join").NoOptDefVal = "true"
	envString(a, fs, &f.advertise, "advertise-s3", "", "host:port other nodes reach this node's S3 address at (default --s3-addr)")
	fs.StringVar(&f.clusterKey, "cluster-key", "", "shared secret of node-to-node traffic, 16+ characters, the same on every node (env FORKSTORE_CLUSTER_KEY, preferred)")
	envString(a, fs, &f.tlsCA, "tls-ca", "", "CA certificate: with --tls-cert and --tls-key, mutual TLS between nodes' Raft transports")
	envString(a, fs, &f.rttMS, "rtt-ms", "40", "Raft tick in milliseconds, about the round trip between nodes")
	envString(a, fs, &f.electionRTT, "election-rtt", "5", "ticks without a leader's heartbeat before an election")
	envString(a, fs, &f.heartbeatRTT, "heartbeat-rtt", "1", "ticks between a leader's heartbeats")
	envBool(a, fs, &f.quiesce, "raft-quiesce", true, "idle metadata shards stop heartbeating until their next request")
	envString(a, fs, &f.stepWorkers, "raft-step-workers", "0", "Raft workers, each saving the logs of its shards in one write and fsync, of a new data dir (0: one per core, 2 to 16)")
	envString(a, fs, &f.snapshotEntries, "snapshot-entries", "10000", "Raft log entries between snapshots, shared by the metadata shards of a node (at least 1000 each); a node further behind is rebuilt from one")
	envString(a, fs, &f.replicas, "replicas", "3", "copies of each chunk (at most the number of members)")
	envString(a, fs, &f.zone, "zone", "", "this node's failure domain (rack, room, cloud zone): chunk copies spread over zones first")
	envString(a, fs, &f.metaShards, "meta-shards", "", "metadata shards (Raft groups) of a new cluster, 1 to 256 (default 1); fixed at creation: a restarted or joining node takes its cluster's")
	envString(a, fs, &f.metaReplicas, "meta-replicas", "", "replicas of each data metadata shard of a new cluster, placed over the members, 0 to 7 (default 3; 0: every member holds every shard); fixed at creation: a restarted or joining node takes its cluster's")
	envString(a, fs, &f.replaceDownAfter, "replace-down-after", "10m", "how long a member may fail to answer before the metadata shard replicas and chunk copies it holds are made again on other members (0: never, until 'forkstore cluster remove')")
	envString(a, fs, &f.repairInterval, "repair-interval", "1m", "how often a node pulls the chunks it should hold and lacks")
	envString(a, fs, &f.scrubInterval, "scrub-interval", "24h", "how often local chunk files are re-verified (0: only on request)")
}

// apply fills cfg's cluster settings. tlsCert and tlsKey are the server's
// certificate (--tls-cert, --tls-key): with --tls-ca the Raft transport
// uses them for mutual TLS, and nodes reach each other's HTTPS S3 port
// trusting that CA.
func (f *clusterFlags) apply(a *app, cfg *gateway.Config, tlsCert, tlsKey string) error {
	cfg.ClusterKey = f.clusterKey
	if cfg.ClusterKey == "" {
		cfg.ClusterKey = a.env("FORKSTORE_CLUSTER_KEY")
	}
	if f.advertise != "" {
		cfg.AdvertiseS3 = f.advertise
	}
	join, err := strconv.ParseBool(f.join)
	if err != nil {
		return usagef("--join: want true or false, got %q", f.join)
	}
	cfg.Raft.Join = join
	switch {
	case f.initialMembers != "" && join:
		return usagef("--join takes no --initial-members: the node learns the members from the cluster")
	case f.initialMembers != "":
		members, err := parseMembers(f.initialMembers)
		if err != nil {
			return usagef("--initial-members: %w", err)
		}
		cfg.Raft.InitialMembers = members
	case !join:
		cfg.Raft.InitialMembers = map[uint64]string{cfg.Raft.NodeID: cfg.Raft.RaftAddr}
	}
	if f.tlsCA != "" {
		if tlsCert == "" || tlsKey == "" {
			return usagef("mutual TLS between nodes needs --tls-ca, --tls-cert and --tls-key together")
		}
		cfg.Raft.CAFile, cfg.Raft.CertFile, cfg.Raft.KeyFile = f.tlsCA, tlsCert, tlsKey
	}
	if tlsCert != "" {
		// The S3 port speaks HTTPS: so does node-to-node traffic on it.
		peer := &tls.Config{MinVersion: tls.VersionTLS12}
		if f.tlsCA != "" {
			pem, err := os.ReadFile(f.tlsCA)
			if err != nil {
				return fmt.Errorf("--tls-ca: %w", err)
			}
			peer.RootCAs = x509.NewCertPool()
			if !peer.RootCAs.AppendCertsFromPEM(pem) {
				return fmt.Errorf("--tls-ca: no PEM certificate in %s", f.tlsCA)
			}
		}
		cfg.PeerTLS = peer
	}
	for _, u := range []struct {
		name, val string
		dst       *uint64
	}{
		{"--rtt-ms", f.rttMS, &cfg.Raft.RTTMillisecond},
		{"--election-rtt", f.electionRTT, &cfg.Raft.ElectionRTT},
		{"--heartbeat-rtt", f.heartbeatRTT, &cfg.Raft.HeartbeatRTT},
	} {
		v, err := strconv.ParseUint(u.val, 10, 64)
		if err != nil || v == 0 {
			return usagef("%s: want a positive integer, got %q", u.name, u.val)
		}
		*u.dst = v
	}
	cfg.Raft.Quiesce = f.quiesce
	if cfg.Raft.StepWorkers, err = strconv.ParseUint(f.stepWorkers, 10, 64); err != nil || cfg.Raft.StepWorkers > 16 {
		return usagef("--raft-step-workers: want an integer from 0 to 16, got %q", f.stepWorkers)
	}
	se, err := strconv.ParseUint(f.snapshotEntries, 10, 64)
	if err != nil || se < 10 {
		return usagef("--snapshot-entries: want an integer >= 10, got %q", f.snapshotEntries)
	}
	cfg.Raft.SnapshotEntries, cfg.Raft.CompactionOverhead = se, min(5000, se/2)
	if cfg.Replicas, err = strconv.Atoi(f.replicas); err != nil {
		return usagef("--replicas: want an integer, got %q", f.replicas)
	}
	cfg.Zone = f.zone
	if f.metaShards != "" {
		if cfg.MetaShards, err = strconv.Atoi(f.metaShards); err != nil || cfg.MetaShards < 1 || cfg.MetaShards > 256 {
			return usagef("--meta-shards: want an integer from 1 to 256, got %q", f.metaShards)
		}
	}
	cfg.MetaReplicas = gateway.ClusterMetaReplicas // the cluster's (gateway.DefaultMetaReplicas for a new one)
	if f.metaReplicas != "" {
		if cfg.MetaReplicas, err = strconv.Atoi(f.metaReplicas); err != nil || cfg.MetaReplicas < 0 || cfg.MetaReplicas > gateway.MaxMetaReplicas {
			return usagef("--meta-replicas: want an integer from 0 to %d, got %q", gateway.MaxMetaReplicas, f.metaReplicas)
		}
	}
	if cfg.RepairInterval, err = parseDuration(f.repairInterval); err != nil || cfg.RepairInterval == 0 {
		return usagef("--repair-interval: want a positive duration, got %q", f.repairInterval)
	}
	if cfg.ScrubInterval, err = parseDuration(f.scrubInterval); err != nil {
		return usagef("--scrub-interval: %w", err)
	}
	if cfg.ReplaceDownAfter, err = parseDuration(f.replaceDownAfter); err != nil {
		return usagef("--replace-down-after: %w", err)
	}
	return nil
}

// parseMembers reads "1=host:port,2=host:port".
func parseMembers(s string) (map[uint64]string, error) {
	out := map[uint64]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		idStr, addr, ok := strings.Cut(part, "=")
		id, err := strconv.ParseUint(strings.TrimSpace(idStr), 10, 64)
		if !ok || err != nil || id == 0 || strings.TrimSpace(addr) == "" {
			return nil, fmt.Errorf("want id=host:port, got %q", part)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("node %d listed twice", id)
		}
		out[id] = strings.TrimSpace(addr)
	}
	if len(out) == 0 {
		return nil, errors.New("no members")
	}
	return out, nil
}
