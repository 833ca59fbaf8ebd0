package store

import (
	"context"
	"errors"
	"fmt"
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
	// and returns their answers as they come until all of them answered
	// or ctx ends; expect is how many nodes should answer where the store
	// cannot count its listeners (Redis Cluster). missing is how many did
	// not answer in time.
	Ask(ctx context.Context, topic, node string, question []byte, expect int) (answers [][]byte, missing int, err error)
}

var _ Bus = (*Redis)(nil)

// Bus limits.
const (
	busAnswerTime  = 2 * time.Second  // an answerer's time for one question
	busReplyTTL    = 10 * time.Second // a reply list outlives a late answer this long
	busPoll        = "0.1"            // seconds a BLPOP for answers waits
	busConcurrency = 4                // questions one node answers at once
)

// A question is published on <prefix>bus:<topic> as the asker's node id,
// the key of the list its answers go to, then the question, one per line
// (ids and keys have no newline: checkCall and the key's form see to it).
func (r *Redis) busChannel(topic string) string { return r.prefix + "bus:" + topic }

// Answer subscribes to topic and answers each question in a goroutine of
// its own (at most busConcurrency at once; more wait their turn).
func (r *Redis) Answer(ctx context.Context, topic, node string, answer func(context.Context, []byte) []byte) error {
	if err := r.check(ctx, topic, node); err != nil {
		return err
	}
	ps := r.rdb.Subscribe(ctx, r.busChannel(topic))
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		ps.Close()
		return fmt.Errorf("listening on %q: %w", topic, err)
	}
	r.busMu.Lock()
	if r.busTopics == nil {
		r.busTopics = map[string]int{}
	}
	r.busTopics[topic]++
	r.busMu.Unlock()
	go func() {
		defer func() {
			r.busMu.Lock()
			r.busTopics[topic]--
			r.busMu.Unlock()
		}()
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
				from, rest, _ := strings.Cut(m.Payload, "\n")
				reply, q, ok := strings.Cut(rest, "\n")
				if !ok || from == node || !strings.HasPrefix(reply, r.prefix+"bus:r:") {
					continue
				}
				select {
				case turn <- struct{}{}:
				case <-ctx.Done():
					return
				}
				wg.Add(1)
				go func() {
					defer func() { <-turn; wg.Done() }()
					actx, cancel := context.WithTimeout(ctx, busAnswerTime)
					defer cancel()
					a := answer(actx, []byte(q))
					p := r.rdb.TxPipeline()
					p.RPush(actx, reply, a)
					p.PExpire(actx, reply, busReplyTTL)
					p.Exec(actx) // an answer lost is counted missing by the asker
				}()
			}
		}
	}()
	return nil
}

// Ask publishes question and collects the answers from its reply list.
func (r *Redis) Ask(ctx context.Context, topic, node string, question []byte, expect int) ([][]byte, int, error) {
	if err := r.check(ctx, topic, node); err != nil {
		return nil, 0, err
	}
	reply := r.prefix + "bus:r:" + NewID() + NewID()
	msg := make([]byte, 0, len(node)+len(reply)+len(question)+2)
	msg = append(append(append(append(append(msg, node...), '\n'), reply...), '\n'), question...)
	got, err := r.rdb.Publish(ctx, r.busChannel(topic), msg).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("asking on %q: %w", topic, err)
	}
	defer r.rdb.Del(context.WithoutCancel(ctx), reply)
	// A single server counts the subscribers it delivered to, this node's
	// own among them when it answers topic; a cluster counts only one
	// shard's, so the caller's expect stands.
	want := int(got)
	if _, cluster := r.rdb.(*redis.ClusterClient); cluster {
		want = expect
	} else if r.listening(topic) {
		want--
	}
	var answers [][]byte
	for len(answers) < want && ctx.Err() == nil {
		v, err := r.rdb.Do(ctx, "BLPOP", reply, busPoll).StringSlice()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil && ctx.Err() == nil:
			return answers, want - len(answers), fmt.Errorf("reading answers on %q: %w", topic, err)
		case err == nil && len(v) == 2:
			answers = append(answers, []byte(v[1]))
		}
	}
	return answers, want - len(answers), nil
}

// listening tells whether this store answers topic (Answer was called on
// it): a single server's Publish count then includes this node.
func (r *Redis) listening(topic string) bool {
	r.busMu.Lock()
	defer r.busMu.Unlock()
	return r.busTopics[topic] > 0
}
