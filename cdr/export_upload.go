package cdr

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/trunkline/trunkline/store"
)

// Export protocols.
const (
	ProtocolSFTP = "sftp"
	ProtocolFTP  = "ftp"
)

// uploadFunc stores data as dir/name on the export's server, replacing any
// file of that name: it writes a temporary name in dir and renames it, so a
// reader never sees half a file. It returns the SFTP host key it saw in
// authorized_keys form ("" for FTP).
type uploadFunc func(ctx context.Context, x *store.Export, dir, name string, data []byte, timeout time.Duration) (hostKey string, err error)

func upload(ctx context.Context, x *store.Export, dir, name string, data []byte, timeout time.Duration) (string, error) {
	switch x.Protocol {
	case ProtocolSFTP:
		return uploadSFTP(ctx, x, dir, name, data, timeout)
	case ProtocolFTP:
		return "", uploadFTP(ctx, x, dir, name, data, timeout)
	}
	return "", fmt.Errorf("export protocol %q is not sftp or ftp", x.Protocol)
}

func tempName(name string) string { return "." + name + ".part" }

func uploadSFTP(ctx context.Context, x *store.Export, dir, name string, data []byte, timeout time.Duration) (string, error) {
	var auths []ssh.AuthMethod
	if x.PrivateKey != "" {
		signer, err := ssh.ParsePrivateKey([]byte(x.PrivateKey))
		if err != nil {
			return "", fmt.Errorf("parsing the export's private key: %w", err)
		}
		auths = append(auths, ssh.PublicKeys(signer))
	}
	if x.Password != "" {
		auths = append(auths, ssh.Password(x.Password))
	}
	var seen string
	hostKeyCheck := func(_ string, _ net.Addr, key ssh.PublicKey) error {
		seen = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
		if x.HostKey == "" {
			return nil // trust on first use; the exporter keeps it
		}
		want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(x.HostKey))
		if err != nil {
			return fmt.Errorf("parsing the export's host key: %w", err)
		}
		if !bytes.Equal(want.Marshal(), key.Marshal()) {
			return fmt.Errorf("host key mismatch: server offered %s", seen)
		}
		return nil
	}
	cfg := &ssh.ClientConfig{User: x.Username, Auth: auths, HostKeyCallback: hostKeyCheck, Timeout: timeout}
	addr := net.JoinHostPort(x.Host, strconv.Itoa(x.Port))
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("sftp: dialing %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return seen, fmt.Errorf("sftp: ssh handshake with %s: %w", addr, err)
	}
	sc := ssh.NewClient(c, chans, reqs)
	defer sc.Close()
	client, err := sftp.NewClient(sc)
	if err != nil {
		return seen, fmt.Errorf("sftp: starting subsystem: %w", err)
	}
	defer client.Close()
	if dir != "" && dir != "." {
		if err := client.MkdirAll(dir); err != nil {
			return seen, fmt.Errorf("sftp: creating %s: %w", dir, err)
		}
	}
	tmp, final := path.Join(dir, tempName(name)), path.Join(dir, name)
	f, err := client.OpenFile(tmp, 0x1|0x40|0x200) // O_WRONLY|O_CREATE|O_TRUNC
	if err != nil {
		return seen, fmt.Errorf("sftp: creating %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return seen, fmt.Errorf("sftp: writing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return seen, fmt.Errorf("sftp: closing %s: %w", tmp, err)
	}
	// posix-rename@openssh.com replaces the target atomically; plain SFTP
	// rename refuses to overwrite, so fall back to remove + rename.
	if err := client.PosixRename(tmp, final); err != nil {
		_ = client.Remove(final)
		if err := client.Rename(tmp, final); err != nil {
			return seen, fmt.Errorf("sftp: renaming %s to %s: %w", tmp, final, err)
		}
	}
	return seen, nil
}

func uploadFTP(ctx context.Context, x *store.Export, dir, name string, data []byte, timeout time.Duration) error {
	addr := net.JoinHostPort(x.Host, strconv.Itoa(x.Port))
	c, err := ftp.Dial(addr, ftp.DialWithContext(ctx), ftp.DialWithTimeout(timeout))
	if err != nil {
		return fmt.Errorf("ftp: dialing %s: %w", addr, err)
	}
	defer c.Quit()
	stop := context.AfterFunc(ctx, func() { c.Quit() })
	defer stop()
	if err := c.Login(x.Username, x.Password); err != nil {
		return fmt.Errorf("ftp: login to %s as %s: %w", addr, x.Username, err)
	}
	if dir != "" && dir != "." {
		if err := ftpMkdirAll(c, dir); err != nil {
			return err
		}
	}
	tmp, final := path.Join(dir, tempName(name)), path.Join(dir, name)
	if err := c.Stor(tmp, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("ftp: storing %s: %w", tmp, err)
	}
	if err := c.Rename(tmp, final); err != nil {
		// Servers that refuse to rename over a file: remove it first.
		_ = c.Delete(final)
		if err := c.Rename(tmp, final); err != nil {
			return fmt.Errorf("ftp: renaming %s to %s: %w", tmp, final, err)
		}
	}
	return nil
}

// ftpMkdirAll creates dir and its parents; a MakeDir that fails is fine
// when the directory exists (the server can change into it).
func ftpMkdirAll(c *ftp.ServerConn, dir string) error {
	home, err := c.CurrentDir()
	if err != nil {
		return fmt.Errorf("ftp: current directory: %w", err)
	}
	cur := ""
	if strings.HasPrefix(dir, "/") {
		cur = "/"
	}
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part == "" {
			continue
		}
		cur = path.Join(cur, part)
		if err := c.MakeDir(cur); err != nil {
			if cerr := c.ChangeDir(cur); cerr != nil {
				return fmt.Errorf("ftp: creating %s: %w", cur, err)
			}
			if err := c.ChangeDir(home); err != nil {
				return fmt.Errorf("ftp: back to %s: %w", home, err)
			}
		}
	}
	return nil
}
