package s3api

import (
	"context"
	"net/http"
	"time"
)

// readyTimeout bounds the readiness probe's read, so that the probe answers
// well within a load balancer's health-check timeout: a node that knows no
// leader answers at once, one whose read does not complete in time (a
// leader that just died, a replica still catching up) answers 503.
const readyTimeout = 150 * time.Millisecond

// healthStatus is the JSON body of the health endpoints.
type healthStatus struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Disk is the data directory's free space: "ok: ..." or "low: ..."
	// (the node refuses new data with 507 but still serves reads, so it
	// stays ready).
	Disk string `json:"disk,omitempty"`
}

// healthLive answers GET /health/live: the process serves HTTP.
func (s *Server) healthLive(r *request) (*response, error) {
	return &response{json: healthStatus{Status: "ok"}}, nil
}

// healthReady answers GET /health/ready: 200 when the node can serve
// requests (a linearizable metadata read succeeds), 503 otherwise.
func (s *Server) healthReady(r *request) (*response, error) {
	ctx, cancel := context.WithTimeout(r.ctx, readyTimeout)
	defer cancel()
	disk := s.disk()
	if err := s.ready(ctx); err != nil {
		return &response{status: http.StatusServiceUnavailable, json: healthStatus{Status: "unavailable", Error: err.Error(), Disk: disk}}, nil
	}
	return &response{json: healthStatus{Status: "ok", Disk: disk}}, nil
}
