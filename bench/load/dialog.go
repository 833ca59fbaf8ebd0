package load

import "bytes"

// maxRoutes bounds the route set of a dialog.
const maxRoutes = 32

// dialog is what the UAC keeps of a dialog it set up, for the ACK and BYE it
// sends in it: the Request-URI, the Route header line and the remote tag,
// in one buffer.
type dialog struct {
	buf              []byte
	ruri, route, tag int // ends in buf
}

func (d *dialog) requestURI() []byte { return d.buf[:d.ruri] }
func (d *dialog) routeLine() []byte  { return d.buf[d.ruri:d.route] } // "Route: …\r\n", or empty
func (d *dialog) remoteTag() []byte  { return d.buf[d.route:d.tag] }

// newDialog computes the dialog state of a UAC from the 2xx to its INVITE
// (RFC 3261 §12.1.2, §12.2.1.1): the route set is the Record-Route entries
// in reverse order, the remote target the Contact's URI (target, which the
// caller found). When the first route is a strict router (its URI lacks the
// lr parameter) it becomes the Request-URI and the remote target goes last
// in the Route header instead. Entries are copied as written, as sipp does.
func newDialog(rrs [][]byte, target, tag []byte) dialog {
	var all [maxRoutes][]byte
	entries := all[:0]
	for _, v := range rrs {
		entries = splitValues(v, entries)
	}
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	var d dialog
	n := 2*len(target) + len(tag) + 16
	for _, e := range entries {
		n += len(e) + 2
	}
	d.buf = make([]byte, 0, n)
	strict := len(entries) > 0 && !hasLR(uriOf(entries[0]))
	if strict {
		d.buf = append(d.buf, uriOf(entries[0])...)
		entries = entries[1:]
	} else {
		d.buf = append(d.buf, target...)
	}
	d.ruri = len(d.buf)
	if len(entries) > 0 || strict {
		d.buf = append(d.buf, "Route: "...)
		for i, e := range entries {
			if i > 0 {
				d.buf = append(d.buf, ", "...)
			}
			d.buf = append(d.buf, e...)
		}
		if strict {
			if len(entries) > 0 {
				d.buf = append(d.buf, ", "...)
			}
			d.buf = append(d.buf, '<')
			d.buf = append(d.buf, target...)
			d.buf = append(d.buf, '>')
		}
		d.buf = append(d.buf, "\r\n"...)
	}
	d.route = len(d.buf)
	d.buf = append(d.buf, tag...)
	d.tag = len(d.buf)
	return d
}

// splitValues appends to out the comma-separated values of a header value
// (commas inside <> or quotes do not split), trimmed, up to maxRoutes.
func splitValues(v []byte, out [][]byte) [][]byte {
	start, angle, quote := 0, false, false
	for i := 0; i <= len(v); i++ {
		if i < len(v) {
			switch c := v[i]; {
			case quote:
				if c == '\\' {
					i++
				} else if c == '"' {
					quote = false
				}
				continue
			case c == '"':
				quote = true
				continue
			case c == '<':
				angle = true
				continue
			case c == '>':
				angle = false
				continue
			case c != ',' || angle:
				continue
			}
		}
		if e := trimLWS(v[start:min(i, len(v))]); len(e) > 0 && len(out) < maxRoutes {
			out = append(out, e)
		}
		start = i + 1
	}
	return out
}

// uriOf returns the URI of a name-addr or addr-spec value: what is between
// < and >, or for a bare URI what precedes its first ';' (the header's
// parameters).
func uriOf(v []byte) []byte {
	if i := bytes.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := bytes.IndexByte(v, '>'); j >= 0 {
			return trimLWS(v[:j])
		}
		return nil
	}
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return trimLWS(v)
}

// hasLR reports whether a URI has the lr parameter (a loose router).
func hasLR(uri []byte) bool {
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	for {
		i := bytes.IndexByte(uri, ';')
		if i < 0 {
			return false
		}
		uri = uri[i+1:]
		p := uri
		if j := bytes.IndexAny(p, ";="); j >= 0 {
			p = p[:j]
		}
		if bytes.EqualFold(trimLWS(p), []byte("lr")) {
			return true
		}
	}
}
