package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// retryHook resends a command that failed in a way that leaves no doubt
// about what it did, so that a failover (Sentinel promoting a replica,
// the old primary turned read-only, connections cut when the client
// learns the new primary) costs a short wait instead of an error:
//
//   - refused before it ran (a dial that failed, READONLY from a primary
//     demoted to a replica, LOADING, MASTERDOWN, TRYAGAIN, CLUSTERDOWN):
//     any command, scripts included, is sent again;
//   - cut off after it was sent (EOF, reset, a closed connection): only a
//     command that reads is, since a script whose reply was lost may have
//     run (RedisCredit relies on never running one twice).
//
// At most redisRetries resends, redisRetryWait apart, and never past the
// caller's deadline: a call on the call path still fails fast.
type retryHook struct{}

const (
	redisRetries   = 2
	redisRetryWait = 50 * time.Millisecond
)

func (retryHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (retryHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		for try := 1; try <= redisRetries && resendable(err, readOnlyCmd(cmd)); try++ {
			if !pause(ctx, time.Duration(try)*redisRetryWait) {
				return err
			}
			cmd.SetErr(nil)
			err = next(ctx, cmd)
		}
		return err
	}
}

// ProcessPipelineHook resends a pipeline that only reads. One that
// writes is not: on Redis Cluster a pipeline spans nodes, and one node's
// failed dial says nothing of what the others ran.
func (retryHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		reads := true
		for _, c := range cmds {
			reads = reads && readOnlyCmd(c)
		}
		for try := 1; try <= redisRetries && reads && resendable(err, true); try++ {
			if !pause(ctx, time.Duration(try)*redisRetryWait) {
				return err
			}
			for _, c := range cmds {
				c.SetErr(nil)
			}
			err = next(ctx, cmds)
		}
		return err
	}
}

// pause waits d unless ctx ends first (or would end within d).
func pause(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// resendable tells whether a command that failed with err may be sent
// again: always when it did not run, after a cut connection when it only
// reads.
func resendable(err error, reads bool) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if notSent(err) || refusedUnrun(err) {
		return true
	}
	return reads && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

// notSent: the connection was never made, so nothing was sent.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// refusedUnrun: the server answered that it would not run the command
// (a script on a replica is refused at its first write, before any).
func refusedUnrun(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	s := rerr.Error()
	if i := strings.Index(s, "-READONLY "); i >= 0 { // a script's error wraps the reply
		s = s[i+1:]
	}
	for _, p := range []string{"READONLY ", "LOADING ", "MASTERDOWN ", "TRYAGAIN ", "CLUSTERDOWN "} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// readOnlyCmd tells whether cmd only reads (resending it changes nothing).
func readOnlyCmd(cmd redis.Cmder) bool {
	switch strings.ToLower(cmd.Name()) {
	case "get", "mget", "exists", "ttl", "pttl", "type", "strlen",
		"hget", "hmget", "hgetall", "hkeys", "hvals", "hlen", "hexists", "hscan", "scan",
		"smembers", "sismember", "scard", "sscan",
		"zrange", "zrangebyscore", "zrevrange", "zcard", "zscore", "zscan",
		"lrange", "llen", "lindex", "xrange", "xrevrange", "xlen",
		"ping", "time", "info", "evalsha_ro", "eval_ro":
		return true
	}
	return false
}
