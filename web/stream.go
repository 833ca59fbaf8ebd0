package web

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// streamHeaders are the API answer's headers a download passes on.
var streamHeaders = []string{"Content-Type", "Content-Disposition", "Trunkline-CDR-Source", "Warning"}

// download sends the API's answer to GET path (with hdr) straight on to
// the browser as it is written, never held whole: a CSV of a million
// rows costs no memory here. An answer other than 200 is shown as the
// API's message with its status.
func (s *Server) download(w http.ResponseWriter, r *http.Request, sess *session, path string, hdr map[string]string) {
	req, err := s.apiRequest(r, sess, http.MethodGet, path, nil, hdr)
	if err != nil {
		http.Error(w, "bad query", http.StatusBadRequest)
		return
	}
	sw := &streamWriter{w: w, header: http.Header{}}
	s.api.ServeHTTP(sw, req)
	if sw.status == 0 {
		sw.WriteHeader(http.StatusOK)
	}
	if sw.status == http.StatusOK {
		return
	}
	var e struct{ Error struct{ Message string } }
	msg := "the switch could not answer"
	if json.Unmarshal(sw.failed.Bytes(), &e) == nil && e.Error.Message != "" && sw.status < 500 {
		msg = e.Error.Message
	}
	http.Error(w, msg, sw.status)
}

// streamWriter passes a 200 answer through to w; another is kept (small:
// an error) for download to show.
type streamWriter struct {
	w      http.ResponseWriter
	header http.Header
	status int
	failed bytes.Buffer
}

func (sw *streamWriter) Header() http.Header { return sw.header }

func (sw *streamWriter) WriteHeader(code int) {
	if sw.status != 0 {
		return
	}
	sw.status = code
	if code != http.StatusOK {
		return
	}
	for _, h := range streamHeaders {
		if v := sw.header.Get(h); v != "" {
			sw.w.Header().Set(h, v)
		}
	}
	sw.w.WriteHeader(code)
}

func (sw *streamWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.WriteHeader(http.StatusOK)
	}
	if sw.status != http.StatusOK {
		if sw.failed.Len() < 64<<10 {
			sw.failed.Write(b)
		}
		return len(b), nil
	}
	return sw.w.Write(b)
}

// Flush passes a flush on, so rows reach the browser as they are made.
func (sw *streamWriter) Flush() {
	if f, ok := sw.w.(http.Flusher); ok && sw.status == http.StatusOK {
		f.Flush()
	}
}
