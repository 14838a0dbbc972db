package console

import (
	"math"
	"slices"
	"strconv"

	"github.com/forkstore/forkstore/gateway"
)

// clusterData fills in what the cluster page shows: the members, the
// metadata shards, the live figures and their charts.
func (c *Console) clusterData(q *req) error {
	if !q.allow(c, "Admin", "", "") {
		return denied("see the cluster (the root key does)")
	}
	st, err := c.svc.ClusterStatus(q.ctx)
	if err != nil {
		return err
	}
	q.data["Cluster"] = st
	q.data["Zones"] = slices.ContainsFunc(st.Members, func(m gateway.NodeStatus) bool { return m.Zone != "" })
	var figs []Figure
	if h := c.cfg.History; h != nil {
		if s := h.Samples(); len(s) > 0 {
			figs = append(figs, rateFigures(s[len(s)-1])...)
		}
		var charts []any
		for _, ch := range liveCharts(h) {
			charts = append(charts, ch.SVG())
		}
		q.data["Charts"] = charts
		q.data["Every"] = int(h.Every().Seconds())
	}
	if c.cfg.Figures != nil {
		figs = append(figs, c.cfg.Figures()...)
	}
	q.data["Figures"] = figs
	return nil
}

// clusterLive serves the live part of the cluster page (the tables, the
// figures and the charts) as an HTML fragment, which the page's script
// fetches every few seconds to replace its own.
func (c *Console) clusterLive(q *req) error {
	if err := c.clusterData(q); err != nil {
		return err
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := c.pages["cluster"].ExecuteTemplate(q.w, "live", q.data); err != nil {
		c.log.Warn("console render", "page", "cluster/live", "err", err)
	}
	return nil
}

// rateFigures are the figures of the last sample.
func rateFigures(s Sample) []Figure {
	p99 := "no requests"
	if !math.IsNaN(s.P99) {
		p99 = "≤ " + strconv.FormatFloat(s.P99*1000, 'f', -1, 64) + " ms"
	}
	return []Figure{
		{Name: "S3 requests/s", Value: strconv.FormatFloat(s.Requests, 'f', 1, 64)},
		{Name: "S3 p99 latency", Value: p99},
		{Name: "Bytes in/s", Value: strconv.FormatFloat(s.BytesIn, 'f', 0, 64)},
		{Name: "Bytes out/s", Value: strconv.FormatFloat(s.BytesOut, 'f', 0, 64)},
	}
}

// replicaList renders a shard's replicas.
func replicaList(ids []uint64) string {
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += ", "
		}
		out += strconv.FormatUint(id, 10)
	}
	return out
}
