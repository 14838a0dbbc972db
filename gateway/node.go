package gateway

import "io"

// ReadCloser is an object body being read.
type ReadCloser = io.ReadCloser

// Node is one forkstore server: a NodeHost with the metadata shard, the
// chunk store and the S3 service.
type Node struct {
	cfg Config
}

// Config configures a node.
type Config struct {
	Region       string
	RootUser     string
	RootPassword string
}
