package admin

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes sent in the "code" member of an error response.
const (
	CodeBadJSON          = "bad_json"
	CodeInvalid          = "invalid"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeUnauthorized     = "unauthorized"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeUnsupportedType  = "unsupported_media_type"
	CodeTooLarge         = "too_large"
	CodeUnavailable      = "unavailable"
	CodeOnChange         = "reload_failed"
	CodeInternal         = "internal"
)

// Error is an API error that carries the HTTP status it is sent with, in the
// manner of Caddy's HandlerError. Handlers return it; the server writes it as
// {"error":{...}}. Err, when set, is the cause: it is logged, never sent.
type Error struct {
	Status  int        `json:"-"`
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Field   string     `json:"field,omitempty"` // the request field at fault
	Rows    []RowError `json:"rows,omitempty"`  // bad rows of a rate upload
	Err     error      `json:"-"`
}

// RowError names one bad row of a rate upload, counted from 0, and the
// field at fault ("" when the row as a whole is not a rate object).
type RowError struct {
	Row    int    `json:"row"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// asError turns any handler error into an *Error; an error that is not
// already one becomes a 500 whose message hides the cause.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", Err: err}
}

func errInvalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: field,
		Message: field + ": " + fmt.Sprintf(format, args...)}
}

func errBadJSON(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadJSON, Message: fmt.Sprintf(format, args...)}
}

func errNotFound(kind, id string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("%s %q not found", kind, id)}
}

func errConflict(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeConflict, Field: field, Message: fmt.Sprintf(format, args...)}
}

func errStatus(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}
