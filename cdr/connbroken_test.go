package cdr

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

func TestConnBroken(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("read: %w", net.ErrClosed), true},
		{fmt.Errorf("read first block: %w", io.EOF), true},
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{&net.OpError{Op: "write", Err: syscall.EPIPE}, true},
		{errors.New("code: 60, message: Table default.cdrs doesn't exist"), false},
		{fmt.Errorf("querying: %w", errors.New("syntax error")), false},
	}
	for _, tt := range tests {
		if got := connBroken(tt.err); got != tt.want {
			t.Errorf("connBroken(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
