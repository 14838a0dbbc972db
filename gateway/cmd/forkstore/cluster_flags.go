package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/forkstore/forkstore/gateway"
)

// serverClusterFlags are the server's cluster settings.
type serverClusterFlags struct {
	initialMembers, advertise, clusterKey          *string
	join                                           *bool
	tlsCA, tlsCert, tlsKey                         *string
	rttMS, electionRTT, heartbeatRTT, replicas     *string
	repairInterval, scrubInterval, snapshotEntries *string
}

func clusterFlags(fs *flag.FlagSet) *serverClusterFlags {
	return &serverClusterFlags{
		initialMembers:  fs.String("initial-members", envDefault("initial-members", ""), "founding members id=raft-addr,... (the same on each founding node; env FORKSTORE_INITIAL_MEMBERS)"),
		join:            fs.Bool("join", envDefault("join", "") == "true", "start as a new member of a running cluster, after `forkstore cluster add` (env FORKSTORE_JOIN=true)"),
		advertise:       fs.String("advertise-s3", envDefault("advertise-s3", ""), "host:port other nodes reach this node's S3 address at (default --s3-addr; env FORKSTORE_ADVERTISE_S3)"),
		clusterKey:      fs.String("cluster-key", "", "shared secret of node-to-node traffic, 16+ characters (env FORKSTORE_CLUSTER_KEY; prefer the env)"),
		tlsCA:           fs.String("tls-ca", envDefault("tls-ca", ""), "CA of the Raft transport's mutual TLS (with --tls-cert and --tls-key; env FORKSTORE_TLS_CA)"),
		tlsCert:         fs.String("tls-cert", envDefault("tls-cert", ""), "this node's certificate (env FORKSTORE_TLS_CERT)"),
		tlsKey:          fs.String("tls-key", envDefault("tls-key", ""), "this node's private key (env FORKSTORE_TLS_KEY)"),
		rttMS:           fs.String("rtt-ms", envDefault("rtt-ms", "5"), "Raft tick in ms, about the round trip between nodes (env FORKSTORE_RTT_MS)"),
		electionRTT:     fs.String("election-rtt", envDefault("election-rtt", "40"), "ticks without a leader before an election (env FORKSTORE_ELECTION_RTT)"),
		heartbeatRTT:    fs.String("heartbeat-rtt", envDefault("heartbeat-rtt", "4"), "ticks between leader heartbeats (env FORKSTORE_HEARTBEAT_RTT)"),
		replicas:        fs.String("replicas", envDefault("replicas", "3"), "copies of each chunk, at most the number of members (env FORKSTORE_REPLICAS)"),
		repairInterval:  fs.String("repair-interval", envDefault("repair-interval", "1m"), "how often a node pulls the chunks it should hold and lacks (env FORKSTORE_REPAIR_INTERVAL)"),
		snapshotEntries: fs.String("snapshot-entries", envDefault("snapshot-entries", "10000"), "applied entries between Raft snapshots; a node further behind is rebuilt from a snapshot (env FORKSTORE_SNAPSHOT_ENTRIES)"),
		scrubInterval:   fs.String("scrub-interval", envDefault("scrub-interval", "24h"), "how often local chunk files are re-verified, 0 = only on request (env FORKSTORE_SCRUB_INTERVAL)"),
	}
}

// apply fills cfg's cluster settings.
func (f *serverClusterFlags) apply(cfg *gateway.Config) error {
	id := cfg.Raft.NodeID
	key := *f.clusterKey
	if key == "" {
		key = os.Getenv("FORKSTORE_CLUSTER_KEY")
	}
	cfg.ClusterKey = key
	if *f.advertise != "" {
		cfg.AdvertiseS3 = *f.advertise
	}
	cfg.Raft.Join = *f.join
	switch {
	case *f.initialMembers != "" && *f.join:
		return errors.New("--join takes no --initial-members: the node learns the members from the cluster")
	case *f.initialMembers != "":
		members, err := parseMembers(*f.initialMembers)
		if err != nil {
			return fmt.Errorf("--initial-members: %w", err)
		}
		cfg.Raft.InitialMembers = members
	case !*f.join:
		cfg.Raft.InitialMembers = map[uint64]string{id: cfg.Raft.RaftAddr}
	}
	// --tls-ca turns on the Raft transport's mutual TLS with this node's
	// certificate and key.
	if *f.tlsCA != "" {
		if *f.tlsCert == "" || *f.tlsKey == "" {
			return errors.New("mutual TLS needs --tls-ca, --tls-cert and --tls-key together")
		}
		cfg.Raft.CAFile, cfg.Raft.CertFile, cfg.Raft.KeyFile = *f.tlsCA, *f.tlsCert, *f.tlsKey
	}
	for _, u := range []struct {
		name string
		val  string
		dst  *uint64
	}{
		{"--rtt-ms", *f.rttMS, &cfg.Raft.RTTMillisecond},
		{"--election-rtt", *f.electionRTT, &cfg.Raft.ElectionRTT},
		{"--heartbeat-rtt", *f.heartbeatRTT, &cfg.Raft.HeartbeatRTT},
	} {
		v, err := strconv.ParseUint(u.val, 10, 64)
		if err != nil || v == 0 {
			return fmt.Errorf("%s: want a positive integer, got %q", u.name, u.val)
		}
		*u.dst = v
	}
	se, err := strconv.ParseUint(*f.snapshotEntries, 10, 64)
	if err != nil || se < 10 {
		return fmt.Errorf("--snapshot-entries: want an integer >= 10, got %q", *f.snapshotEntries)
	}
	cfg.Raft.SnapshotEntries, cfg.Raft.CompactionOverhead = se, min(5000, se/2)
	r, err := strconv.Atoi(*f.replicas)
	if err != nil {
		return fmt.Errorf("--replicas: want an integer, got %q", *f.replicas)
	}
	cfg.Replicas = r
	if cfg.RepairInterval, err = parseDuration(*f.repairInterval); err != nil || cfg.RepairInterval == 0 {
		return fmt.Errorf("--repair-interval: want a positive duration, got %q", *f.repairInterval)
	}
	if cfg.ScrubInterval, err = parseDuration(*f.scrubInterval); err != nil {
		return fmt.Errorf("--scrub-interval: %w", err)
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
