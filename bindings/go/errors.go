package intent

/*
#include <intent.h>
*/
import "C"

import (
	"errors"
	"fmt"
)

// Status is a libintent status code (INTENT_STATUS_* in intent.h). Codes are stable:
// the library never renumbers them.
//
// Status implements error so that it can be used as a sentinel with errors.Is:
//
//	if errors.Is(err, intent.StatusEmptyQuery) { ... }
type Status int32

// The status codes, mirrored from intent.h (so they cannot drift from the header this
// binding is compiled against).
const (
	StatusOK                Status = C.INTENT_STATUS_OK                  // success
	StatusInvalidArgument   Status = C.INTENT_STATUS_INVALID_ARGUMENT    // missing or malformed argument or option
	StatusInvalidUTF8       Status = C.INTENT_STATUS_INVALID_UTF8        // text was not valid UTF-8
	StatusEmptyQuery        Status = C.INTENT_STATUS_EMPTY_QUERY         // the query was empty or only whitespace
	StatusQueryTooLong      Status = C.INTENT_STATUS_QUERY_TOO_LONG      // the query was over the configured limit
	StatusUnknownLabel      Status = C.INTENT_STATUS_UNKNOWN_LABEL       // a label was not in the taxonomy
	StatusEmptyLabelSet     Status = C.INTENT_STATUS_EMPTY_LABEL_SET     // the allowed label set was empty
	StatusInvalidTaxonomy   Status = C.INTENT_STATUS_INVALID_TAXONOMY    // the taxonomy could not be read or was malformed
	StatusModelNotFound     Status = C.INTENT_STATUS_MODEL_NOT_FOUND     // the model file or directory does not exist
	StatusInvalidModel      Status = C.INTENT_STATUS_INVALID_MODEL       // the model is truncated, corrupt or not a model
	StatusUnsupportedModel  Status = C.INTENT_STATUS_UNSUPPORTED_MODEL   // no backend supports the model's architecture or format
	StatusPluginNotFound    Status = C.INTENT_STATUS_PLUGIN_NOT_FOUND    // no backend plugin with that name (or for that model)
	StatusPluginABIMismatch Status = C.INTENT_STATUS_PLUGIN_ABI_MISMATCH // a plugin was built for another plugin ABI
	StatusPluginUnavailable Status = C.INTENT_STATUS_PLUGIN_UNAVAILABLE  // a plugin cannot run on this machine
	StatusBackend           Status = C.INTENT_STATUS_BACKEND             // the backend failed while evaluating
	StatusOutOfMemory       Status = C.INTENT_STATUS_OUT_OF_MEMORY       // out of memory, or over a configured limit
	StatusInternal          Status = C.INTENT_STATUS_INTERNAL            // an internal error inside libintent
	StatusIO                Status = C.INTENT_STATUS_IO                  // a file could not be read or written
	StatusClosed            Status = C.INTENT_STATUS_CLOSED              // the engine was already closed
)

// statusNames are the Go-side names, used by GoString and in test failures.
var statusNames = [...]string{
	"OK", "INVALID_ARGUMENT", "INVALID_UTF8", "EMPTY_QUERY", "QUERY_TOO_LONG",
	"UNKNOWN_LABEL", "EMPTY_LABEL_SET", "INVALID_TAXONOMY", "MODEL_NOT_FOUND",
	"INVALID_MODEL", "UNSUPPORTED_MODEL", "PLUGIN_NOT_FOUND", "PLUGIN_ABI_MISMATCH",
	"PLUGIN_UNAVAILABLE", "BACKEND", "OUT_OF_MEMORY", "INTERNAL", "IO", "CLOSED",
}

// statusTexts caches the library's static text for each known code (intent_status_str).
var statusTexts = func() []string {
	t := make([]string, len(statusNames))
	for i := range t {
		t[i] = C.GoString(C.intent_status_str(C.int32_t(i)))
	}
	return t
}()

// String returns the library's short description of the code, e.g. "query is empty".
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusTexts) {
		return statusTexts[s]
	}
	return fmt.Sprintf("unknown status %d", int32(s))
}

// Name returns the code's name as in intent.h without the prefix, e.g. "EMPTY_QUERY".
func (s Status) Name() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("STATUS_%d", int32(s))
}

// Error makes a Status usable as an error sentinel (see errors.Is and (*Error).Is).
func (s Status) Error() string { return "intent: " + s.String() }

// Error is the error every failing call of this package returns: the library's status
// code and its message for this failure (for example naming the missing model path or
// the unknown label). Use errors.As to get at it, or errors.Is with a Status:
//
//	var ie *intent.Error
//	if errors.As(err, &ie) && ie.Code == intent.StatusUnknownLabel { ... }
//	if errors.Is(err, intent.StatusUnknownLabel) { ... }
type Error struct {
	Code    Status
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "intent: " + e.Code.String()
	}
	return fmt.Sprintf("intent: %s (%s)", e.Message, e.Code.Name())
}

// Is reports whether target is the same status: a Status equal to e.Code, or an *Error
// with the same Code and either the same Message or none.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Status:
		return e.Code == t
	case *Error:
		return t != nil && e.Code == t.Code && (t.Message == "" || t.Message == e.Message)
	}
	return false
}

// StatusOf returns the status code carried by err: StatusOK for nil, the Code of an
// *Error (or a Status) anywhere in err's chain, and StatusInternal for any other error.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var ie *Error
	if errors.As(err, &ie) {
		return ie.Code
	}
	var s Status
	if errors.As(err, &s) {
		return s
	}
	return StatusInternal
}

// ABIMismatchError is returned by Open when the libintent library loaded at run time
// has another ABI version than the header this binding was compiled against.
type ABIMismatchError struct {
	Library uint32 // intent_abi_version() of the loaded library
	Binding uint32 // INTENT_ABI_VERSION of the header the binding was built with
}

func (e *ABIMismatchError) Error() string {
	return fmt.Sprintf("intent: library ABI %d, binding built for %d: rebuild the Go binding against this libintent (or install libintent.so.%d)",
		e.Library, e.Binding, e.Binding)
}
