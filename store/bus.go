package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bus carries a question from one node to the other nodes that share a
// store and brings their answers back: what lives only in one node's
// memory (its calls in progress) is asked for, not copied into the store.
// Only the Redis store is one. Methods are safe for concurrent use.
type Bus interface {
	// Answer answers the questions other nodes ask on topic with answer
	// until ctx ends; node is this node's id (its own questions are not
	// put to it). It returns once it listens.
	Answer(ctx context.Context, topic, node string, answer func(ctx context.Context, question []byte) []byte) error
	// Ask puts question to the nodes that answer topic, other than node,
	// and returns the answers of the nodes named in peers, by node, as
	// they come until all of them answered or ctx ends; missing names the
	// peers that did not answer in time. Answers from nodes not in peers
	// are dropped.
	Ask(ctx context.Context, topic, node string, question []byte, peers []string) (answers map[string][]byte, missing []string, err error)
}

var _ Bus = (*Redis)(nil)

// Bus limits.
const (
	busListen      = 2 * time.Second  // to subscribe, at start
	busReplyTTL    = 10 * time.Second // a reply list outlives a late answer this long
	busPoll        = 20 * time.Millisecond
	busConcurrency = 4 // questions one node answers at once
)

// A question is published on <prefix>bus:<topic> as the asker's node id,
// the key of the list its answers go to, the Unix ms after which nobody
// waits for the answer, then the question, one per line (node ids have
// no newline: the config refuses them). An answer is the answering node's
// id, a newline, then the answer.
func (r *Redis) busChannel(topic string) string { return r.prefix + "bus:" + topic }

// Answer subscribes to topic and answers each question in a goroutine of
// its own (at most busConcurrency at once; more wait their turn, and a
// question whose asker stopped waiting is dropped).
func (r *Redis) Answer(ctx context.Context, topic, node string, answer func(context.Context, []byte) []byte) error {
	if err := r.check(ctx, topic, node); err != nil {
		return err
	}
	ps := r.rdb.Subscribe(ctx, r.busChannel(topic))
	lctx, cancel := context.WithTimeout(ctx, busListen)
	_, err := ps.Receive(lctx) // the subscription's confirmation
	cancel()
	if err != nil {
		ps.Close()
		return fmt.Errorf("listening on %q: %w", topic, err)
	}
	go func() {
		defer ps.Close()
		turn := make(chan struct{}, busConcurrency)
		var wg sync.WaitGroup
		defer wg.Wait()
		msgs := ps.Channel() // reconnects, and subscribes again, after a failure
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-msgs:
				if !ok {
					return
				}
				parts := strings.SplitN(m.Payload, "\n", 4)
				if len(parts) != 4 || parts[0] == node || !strings.HasPrefix(parts[1], r.prefix+"bus:r:") {
					continue
				}
				reply, q := parts[1], parts[3]
				until, err := strconv.ParseInt(parts[2], 10, 64)
				if err != nil {
					continue
				}
				select {
				case turn <- struct{}{}:
				case <-ctx.Done():
					return
				}
				if time.Now().UnixMilli() >= until {
					<-turn // nobody waits for this one any more
					continue
				}
				wg.Add(1)
				go func() {
					defer func() { <-turn; wg.Done() }()
					actx, cancel := context.WithDeadline(ctx, time.UnixMilli(until))
					defer cancel()
					a := answer(actx, []byte(q))
					p := r.rdb.TxPipeline()
					p.RPush(actx, reply, append([]byte(node+"\n"), a...))
					p.PExpire(actx, reply, busReplyTTL)
					p.Exec(actx) // an answer lost shows as the node missing
				}()
			}
		}
	}()
	return nil
}

// Ask publishes question and polls its reply list (a blocking pop would
// outwait the client's read timeout and cost a connection when cut).
func (r *Redis) Ask(ctx context.Context, topic, node string, question []byte, peers []string) (map[string][]byte, []string, error) {
	if err := r.check(ctx, topic, node); err != nil {
		return nil, nil, err
	}
	want := map[string]bool{}
	for _, p := range peers {
		if p != node {
			want[p] = true
		}
	}
	answers := map[string][]byte{}
	missing := func() []string {
		var out []string
		for p := range want {
			if _, ok := answers[p]; !ok {
				out = append(out, p)
			}
		}
		slices.Sort(out)
		return out
	}
	if len(want) == 0 {
		return answers, nil, nil
	}
	until := time.Now().Add(time.Minute)
	if d, ok := ctx.Deadline(); ok {
		until = d
	}
	reply := r.prefix + "bus:r:" + NewID() + NewID()
	msg := fmt.Sprintf("%s\n%s\n%d\n%s", node, reply, until.UnixMilli(), question)
	if err := r.rdb.Publish(ctx, r.busChannel(topic), msg).Err(); err != nil {
		return answers, missing(), fmt.Errorf("asking on %q: %w", topic, err)
	}
	tick := time.NewTicker(busPoll)
	defer tick.Stop()
	for len(answers) < len(want) {
		select {
		case <-ctx.Done():
			return answers, missing(), nil
		case <-tick.C:
		}
		// Each read on its own deadline: the asker's, reached mid-read,
		// would close the connection.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisIOTimeout)
		vs, err := r.rdb.LPopCount(pctx, reply, 100).Result()
		cancel()
		if err != nil && !errors.Is(err, redis.Nil) {
			return answers, missing(), fmt.Errorf("reading answers on %q: %w", topic, err)
		}
		for _, v := range vs {
			from, a, _ := strings.Cut(v, "\n")
			if want[from] {
				answers[from] = []byte(a)
			}
		}
	}
	return answers, missing(), nil
}
