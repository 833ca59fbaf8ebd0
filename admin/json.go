package admin

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
)

// Request body limits.
const (
	maxJSONBody  = 1 << 20  // 1 MiB for a resource
	maxRatesBody = 64 << 20 // 64 MiB for a whole rate deck
)

// decodeBody reads a JSON request body into v: the content type must be
// application/json (or absent), the body at most limit bytes, one JSON value
// with no unknown fields and nothing after it.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errStatus(http.StatusUnsupportedMediaType, CodeUnsupportedType,
				"content type %q is not supported; send application/json", ct)
		}
	}
	return decodeJSON(http.MaxBytesReader(w, r.Body, limit), v)
}

// decodeJSON reads exactly one JSON value from rd into v, rejecting unknown
// fields, and maps every failure to an *Error naming what is wrong.
func decodeJSON(rd io.Reader, v any) error {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return errBadJSON("unexpected data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return errStatus(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body larger than %d bytes", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return errBadJSON("empty request body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBadJSON("request body ends in the middle of a JSON value")
	case errors.As(err, &syntaxErr):
		return errBadJSON("malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return errBadJSON("the body must be a JSON %s, found a JSON %s", jsonKind(typeErr.Type), typeErr.Value)
		}
		return errInvalid(field, "must be a JSON %s, found a JSON %s", jsonKind(typeErr.Type), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := errBadJSON("unknown field %q", name)
		e.Field = name
		return e
	}
	return errBadJSON("reading request body: %v", err)
}

// jsonKind names the JSON kind a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return "string"
		}
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}

// writeJSON sends v with status (to a customer's token without the buy
// side, an operator's notes among it: ledger reasons are written for the
// operator).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err == nil && forCustomer(w) {
		b, err = hideBuySide(b)
	}
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"encoding the response failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError sends e as {"error":{...}}.
func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}
