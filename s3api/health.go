package s3api

import (
	"context"
	"net/http"
	"time"
)

// readyTimeout bounds the readiness probe's read.
const readyTimeout = 2 * time.Second

// healthStatus is the JSON body of the health endpoints.
type healthStatus struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
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
	if err := s.ready(ctx); err != nil {
		return &response{status: http.StatusServiceUnavailable, json: healthStatus{Status: "unavailable", Error: err.Error()}}, nil
	}
	return &response{json: healthStatus{Status: "ok"}}, nil
}
