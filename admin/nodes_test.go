package admin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

// slowNodes is a cluster where node "b" never runs the newest configuration.
type slowNodes struct{}

func (slowNodes) Nodes(context.Context) ([]store.NodeState, error) {
	return []store.NodeState{{ID: "a"}, {ID: "b"}}, nil
}

func (slowNodes) WaitConfig(ctx context.Context) ([]string, error) {
	<-ctx.Done()
	return []string{"b"}, nil
}

// A write with ?wait= that a node does not follow in time is still
// answered in full (a new token's secret, a new id) with headers naming
// the node behind; a bad wait writes nothing; a failed write is its error.
func TestWaitKeepsTheAnswer(t *testing.T) {
	e := newEnv(t, admin.WithNodes(slowNodes{}))
	w := e.send("POST", "/api/v1/tokens?wait=100ms", map[string]any{"name": "ci"}, "Bearer "+e.token, "application/json")
	var tok struct {
		Token string `json:"token"`
	}
	decode(t, w, &tok)
	if w.Code != http.StatusCreated || tok.Token == "" || w.Header().Get("Trunkline-Config-Applied") != "false" || w.Header().Get("Trunkline-Nodes-Behind") != "b" {
		t.Fatalf("POST /tokens?wait=100ms: %d %q, headers %v", w.Code, tok.Token, w.Header())
	}
	if code := e.as(tok.Token, "GET", "/api/v1/customers", nil); code != http.StatusOK {
		t.Fatalf("the token answered after the wait does not work: %d", code)
	}
	before := e.changes.Load()
	if w := e.send("POST", "/api/v1/customers?wait=later", map[string]any{"name": "x", "currency": "USD"}, "Bearer "+e.token, "application/json"); w.Code != http.StatusBadRequest {
		t.Fatalf("a bad wait: %d", w.Code)
	}
	if e.changes.Load() != before {
		t.Fatal("a write with a bad wait was made")
	}
	if w := e.send("POST", "/api/v1/customers?wait=1s", map[string]any{"currency": "USD"}, "Bearer "+e.token, "application/json"); w.Code != http.StatusBadRequest || w.Header().Get("Trunkline-Config-Applied") != "" {
		t.Fatalf("a refused write with a wait: %d, headers %v", w.Code, w.Header())
	}
	var ns struct {
		Nodes []store.NodeState `json:"nodes"`
	}
	decode(t, e.send("GET", "/api/v1/nodes?wait=junk", nil, "Bearer "+e.token, ""), &ns)
	if len(ns.Nodes) != 2 {
		t.Fatalf("nodes %+v", ns.Nodes)
	}
}
