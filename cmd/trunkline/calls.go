package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/sip"
	"github.com/trunkline/trunkline/store"
)

// Calls in progress live in the memory of the node that carries them. The
// admin API lists and hangs up those of every node: it answers from its
// own node and asks the others on the store's Bus (Redis pub/sub). Nothing
// is written to the store per call: the question costs only when an
// operator asks.
const (
	busCalls  = "calls"       // topic: list, or hang up, calls in progress
	askCalls  = time.Second   // how long the asker waits for every node
	busListed = "list"        // question kinds
	busHangup = "hangup"      //
	hungUp    = "hung up"     // hangup answers
	notHere   = "not here"    //
	failedPfx = "could not: " //
	maxAsking = 4             // questions one node has out at once
)

// callQuestion is what one node asks the others.
type callQuestion struct {
	Kind   string         `json:"kind"`
	Filter cdr.CallFilter `json:"filter"`
	ID     string         `json:"id,omitempty"`
}

// clusterCalls is the admin API's view of the calls in progress.
type clusterCalls struct {
	sip    *sip.Server
	bus    store.Bus // nil: the node is alone (embedded store)
	node   string
	live   func(context.Context) ([]store.NodeState, error) // this one included
	log    *slog.Logger
	asking chan struct{} // a slot per question out (maxAsking)
}

// errBusy refuses a question while maxAsking are out.
var errBusy = errors.New("too many questions to the other nodes at once; try again")

// serve answers the other nodes' questions until ctx ends.
func (c *clusterCalls) serve(ctx context.Context) error {
	if c.bus == nil {
		return nil
	}
	return c.bus.Answer(ctx, busCalls, c.node, c.answer)
}

// answer answers one question from another node.
func (c *clusterCalls) answer(_ context.Context, b []byte) []byte {
	var q callQuestion
	if err := json.Unmarshal(b, &q); err != nil {
		return []byte(failedPfx + "unreadable question")
	}
	switch q.Kind {
	case busListed:
		out, err := json.Marshal(c.sip.Calls(q.Filter))
		if err != nil {
			return []byte(failedPfx + err.Error())
		}
		return out
	case busHangup:
		ok, err := c.sip.Hangup(q.ID)
		switch {
		case err != nil:
			return []byte(failedPfx + err.Error())
		case ok:
			return []byte(hungUp)
		}
		return []byte(notHere)
	}
	return []byte(failedPfx + "unknown question")
}

// ask puts q to the other live nodes; missing counts those that did not
// answer (at least one when the live nodes could not be read).
func (c *clusterCalls) ask(ctx context.Context, q callQuestion) (map[string][]byte, int, error) {
	select {
	case c.asking <- struct{}{}:
		defer func() { <-c.asking }()
	default:
		return nil, 0, errBusy
	}
	b, err := json.Marshal(q)
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, askCalls)
	defer cancel()
	nodes, err := c.live(ctx)
	if err != nil {
		c.log.Warn("reading the live nodes to ask for their calls", "error", err)
		return nil, 1, nil
	}
	peers := make([]string, 0, len(nodes))
	for _, n := range nodes {
		peers = append(peers, n.ID)
	}
	answers, missing, err := c.bus.Ask(ctx, busCalls, c.node, b, peers)
	if err != nil {
		c.log.Warn("asking the other nodes about their calls", "error", err)
	}
	if len(missing) > 0 {
		c.log.Warn("nodes did not answer about their calls in time", "nodes", missing)
	}
	return answers, len(missing), nil
}

// Calls lists the calls of every node that f selects, newest first, and
// how many nodes did not answer.
func (c *clusterCalls) Calls(ctx context.Context, f cdr.CallFilter) ([]cdr.ActiveCall, int, error) {
	calls := c.sip.Calls(f)
	if c.bus == nil {
		return calls, 0, nil
	}
	answers, missing, err := c.ask(ctx, callQuestion{Kind: busListed, Filter: f})
	if err != nil {
		return nil, 0, err
	}
	for node, a := range answers {
		var theirs []cdr.ActiveCall
		if err := json.Unmarshal(a, &theirs); err != nil {
			c.log.Warn("a node's calls could not be read", "node", node, "answer", truncate(string(a), 200))
			missing++
			continue
		}
		calls = append(calls, theirs...)
	}
	slices.SortFunc(calls, func(a, b cdr.ActiveCall) int {
		return cmp.Or(cmp.Compare(b.SetupMs, a.SetupMs), cmp.Compare(a.ID, b.ID))
	})
	if f.Limit > 0 && len(calls) > f.Limit {
		calls = calls[:f.Limit]
	}
	return calls, missing, nil
}

// Hangup ends the call id on whichever node carries it.
func (c *clusterCalls) Hangup(ctx context.Context, id string) (bool, error) {
	if ok, err := c.sip.Hangup(id); ok || err != nil || c.bus == nil {
		return ok, err
	}
	answers, missing, err := c.ask(ctx, callQuestion{Kind: busHangup, ID: id})
	if err != nil {
		return false, err
	}
	var failed []string
	for node, a := range answers {
		switch s := string(a); {
		case s == hungUp:
			return true, nil
		case strings.HasPrefix(s, failedPfx):
			failed = append(failed, node+": "+truncate(strings.TrimPrefix(s, failedPfx), 200))
		}
	}
	switch {
	case len(failed) > 0:
		slices.Sort(failed)
		return false, errors.New(strings.Join(failed, "; "))
	case missing > 0:
		return false, fmt.Errorf("%d node(s) did not answer", missing)
	}
	return false, nil
}

// truncate cuts s to at most n bytes, for a log line.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
