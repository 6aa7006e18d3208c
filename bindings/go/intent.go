// Package intent is the Go binding of libintent, an embeddable e-commerce intent
// recognition engine: it maps a customer's chat message ("where is my parcel?") to one
// label of a taxonomy (track_order, cancel_order, ...) with a confidence.
//
// The binding wraps the C API of include/intent.h through cgo. Open loads a model once
// (about two seconds for the default model); the returned *Engine is safe for concurrent
// use by many goroutines and should be shared. Close it when done.
//
//	eng, err := intent.Open(intent.Options{})
//	if err != nil { ... }
//	defer eng.Close()
//	res, err := eng.Classify("where is my parcel?")
//	fmt.Println(res.Intent, res.Confidence)
//
// Every failure is an *Error carrying the library's Status code and message.
package intent

/*
#cgo pkg-config: libintent
#include <stdlib.h>
#include <string.h>
#include <intent.h>
*/
import "C"

import (
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// BindingABIVersion is INTENT_ABI_VERSION of the header this binding was compiled with.
const BindingABIVersion uint32 = C.INTENT_ABI_VERSION

// MaxBatchQueries is the most queries one ClassifyBatch call accepts.
const MaxBatchQueries = C.INTENT_MAX_BATCH_QUERIES

// MaxLabels is the most labels WithLabels accepts.
const MaxLabels = C.INTENT_MAX_LABELS

// abiErr is non-nil when the loaded library is not the ABI this binding was built for.
var abiErr = func() error {
	if lib := uint32(C.intent_abi_version()); lib != BindingABIVersion {
		return &ABIMismatchError{Library: lib, Binding: BindingABIVersion}
	}
	return nil
}()

// Version returns the loaded library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.intent_version()) }

// ABIVersion returns the loaded library's ABI version (compare with BindingABIVersion).
func ABIVersion() uint32 { return uint32(C.intent_abi_version()) }

// Options configure Open. The zero value opens the default model with the built-in
// "ecommerce-v1" taxonomy and the library's defaults; zero fields keep the default.
type Options struct {
	// Backend plugin name, e.g. "gguf-cpu"; empty picks the first usable one for the model.
	Backend string
	// Model file or directory; empty uses $INTENT_MODEL, then the default model.
	Model string
	// Taxonomy: a built-in name ("ecommerce-v1") or a taxonomy JSON file; empty is "ecommerce-v1".
	Taxonomy string
	// PluginPath is a plugin file or directory searched before $INTENT_PLUGIN_PATH and the
	// default places.
	PluginPath string
	// Threads per evaluation; 0 uses all cores.
	Threads int
	// TopK is the number of labels reported with probabilities (0: library default, 3).
	TopK int
	// Threshold: best-label probability under which the taxonomy's fallback label is
	// returned (0: library default, off).
	Threshold float32
	// MaxQueryTokens is the longest query in tokens (0: library default, 128).
	MaxQueryTokens int
	// Truncate longer queries instead of refusing them with StatusQueryTooLong.
	Truncate bool
	// MaxBatch is the number of queries evaluated together in one backend call
	// (0: library default, 8).
	MaxBatch int
	// MaxParallel is the number of contexts evaluated in parallel for concurrent callers
	// (0: library default, 1). Raise it when many goroutines classify at once.
	MaxParallel int
	// UseMmap memory-maps the weights instead of reading them into memory.
	UseMmap bool
	// Device is the GPU index for GPU backends (0: the first).
	Device int
}

// Engine is an open libintent engine: a model, a taxonomy and the cached prompt.
// It is safe for concurrent use by multiple goroutines. Close releases it; a finalizer
// also releases an engine that becomes unreachable without Close, but do not rely on it
// (the model holds about a hundred megabytes of memory that Go's GC does not see).
type Engine struct {
	mu     sync.RWMutex     // read-held by every call into C; write-held by Close
	handle *C.intent_engine // nil once closed
	labels []string         // the taxonomy's labels, copied at Open
}

// errClosed is returned by every method of a closed Engine.
func errClosed() error {
	return &Error{Code: StatusClosed, Message: "the engine is closed"}
}

// lastError builds the *Error for status st from this thread's intent_last_error().
// The caller must have locked the goroutine to its OS thread around the failed call.
func lastError(st C.int32_t) error {
	return &Error{Code: Status(st), Message: C.GoString(C.intent_last_error())}
}

func argError(msg string) error {
	return &Error{Code: StatusInvalidArgument, Message: msg}
}

// cString returns a C copy of s, or nil for "" (the library's NULL means default).
func cString(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func toU32(name string, v int) (C.uint32_t, error) {
	if v < 0 || uint64(v) > math.MaxUint32 {
		return 0, argError(name + " is out of range")
	}
	return C.uint32_t(v), nil
}

func toI32(name string, v int) (C.int32_t, error) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, argError(name + " is out of range")
	}
	return C.int32_t(v), nil
}

// Open loads a model and a taxonomy and returns a ready engine. It takes a couple of
// seconds for the default model. Errors are *Error values, e.g. StatusModelNotFound
// (the message names the path) or StatusPluginNotFound, or an *ABIMismatchError when
// the installed library does not match this binding.
func Open(opts Options) (*Engine, error) {
	if abiErr != nil {
		return nil, abiErr
	}
	var p C.intent_engine_params
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if st := C.intent_engine_params_init(&p, C.sizeof_intent_engine_params); st != C.INTENT_STATUS_OK {
		return nil, lastError(st)
	}

	var err error
	if opts.Threads != 0 {
		if p.n_threads, err = toI32("Threads", opts.Threads); err != nil {
			return nil, err
		}
	}
	if opts.TopK != 0 {
		if p.top_k, err = toU32("TopK", opts.TopK); err != nil {
			return nil, err
		}
	}
	if opts.Threshold != 0 {
		p.threshold = C.float(opts.Threshold)
	}
	if opts.MaxQueryTokens != 0 {
		if p.max_query_tokens, err = toU32("MaxQueryTokens", opts.MaxQueryTokens); err != nil {
			return nil, err
		}
	}
	if opts.Truncate {
		p.truncate = 1
	}
	if opts.UseMmap {
		p.use_mmap = 1
	}
	if opts.MaxBatch != 0 {
		if p.max_batch, err = toU32("MaxBatch", opts.MaxBatch); err != nil {
			return nil, err
		}
	}
	if opts.MaxParallel != 0 {
		if p.max_parallel, err = toU32("MaxParallel", opts.MaxParallel); err != nil {
			return nil, err
		}
	}
	if opts.Device != 0 {
		if p.device, err = toI32("Device", opts.Device); err != nil {
			return nil, err
		}
	}

	// The library borrows these for the duration of intent_engine_new only.
	p.backend = cString(opts.Backend)
	defer C.free(unsafe.Pointer(p.backend))
	p.model_path = cString(opts.Model)
	defer C.free(unsafe.Pointer(p.model_path))
	p.taxonomy = cString(opts.Taxonomy)
	defer C.free(unsafe.Pointer(p.taxonomy))
	p.plugin_path = cString(opts.PluginPath)
	defer C.free(unsafe.Pointer(p.plugin_path))

	var h *C.intent_engine
	if st := C.intent_engine_new(&p, &h); st != C.INTENT_STATUS_OK {
		return nil, lastError(st)
	}

	n := int(C.intent_engine_label_count(h))
	labels := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if l := C.intent_engine_label(h, C.size_t(i)); l != nil {
			labels = append(labels, C.GoString(l))
		}
	}
	e := &Engine{handle: h, labels: labels}
	runtime.SetFinalizer(e, (*Engine).finalize)
	return e, nil
}

func (e *Engine) finalize() { _ = e.Close() }

// Close frees the engine, after waiting for calls in flight on other goroutines.
// It is idempotent: later calls return nil. Using the engine after Close returns an
// *Error with Code StatusClosed.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.handle == nil {
		return nil
	}
	C.intent_engine_free(e.handle)
	e.handle = nil
	runtime.SetFinalizer(e, nil)
	return nil
}

// Labels returns the taxonomy's labels in their stable order (a fresh copy; it stays
// available after Close).
func (e *Engine) Labels() []string {
	return append([]string(nil), e.labels...)
}

// LabelScore is one entry of a result's top list.
type LabelScore struct {
	Label       string
	Probability float32
}

// Timings says where the time of one classification went, in microseconds.
type Timings struct {
	TokenizeUS uint64 // tokenizing the query
	QueueUS    uint64 // waiting for a free evaluation context
	EvalUS     uint64 // backend evaluation of the batch this query was part of
	TotalUS    uint64 // the whole call
	BatchSize  uint32 // queries evaluated together with this one
}

// Result is the answer for one query. It is plain Go data (nothing to free).
type Result struct {
	// Intent is the chosen label (the taxonomy's fallback label when Fallback is true).
	Intent string
	// Confidence is the probability of the most probable allowed label, in (0, 1].
	Confidence float32
	// Fallback is true when Intent is the fallback label because Confidence was under
	// the threshold.
	Fallback bool
	// Top lists the most probable labels with their probabilities, best first.
	Top []LabelScore
	// Timings of this classification.
	Timings Timings
}

// BatchItem is the outcome of one query of ClassifyBatch: exactly one of Result and Err
// is non-nil.
type BatchItem struct {
	Result *Result
	Err    error
}

// ClassifyOption adjusts one Classify or ClassifyBatch call.
type ClassifyOption func(*classifyConfig)

type classifyConfig struct {
	labels       []string
	hasLabels    bool
	topK         int
	hasTopK      bool
	threshold    float32
	hasThreshold bool
}

// WithLabels restricts the answer to the given labels of the taxonomy (for example the
// intents a given screen can handle). A label outside the taxonomy fails the call with
// StatusUnknownLabel; an empty list fails it with StatusEmptyLabelSet.
func WithLabels(labels ...string) ClassifyOption {
	labels = append([]string(nil), labels...)
	return func(c *classifyConfig) { c.labels, c.hasLabels = labels, true }
}

// WithTopK sets how many labels are reported in Result.Top for this call (at least 1).
func WithTopK(k int) ClassifyOption {
	return func(c *classifyConfig) { c.topK, c.hasTopK = k, true }
}

// WithThreshold sets the fallback threshold for this call, between 0 (off) and 1.
func WithThreshold(t float32) ClassifyOption {
	return func(c *classifyConfig) { c.threshold, c.hasThreshold = t, true }
}

// cStrings copies ss into a single C allocation: an array of len(ss) intent_str
// followed by the bytes of all strings. Every ptr is non-NULL (also for "" and for an
// empty ss), as the library requires. Free the returned pointer with C.free.
func cStrings(ss []string) (unsafe.Pointer, *C.intent_str) {
	total := 0
	for _, s := range ss {
		total += len(s)
	}
	head := uintptr(len(ss)) * C.sizeof_intent_str
	block := C.malloc(C.size_t(head) + C.size_t(total) + 1) // cgo's malloc never returns nil
	arr := unsafe.Slice((*C.intent_str)(block), len(ss))
	data := unsafe.Slice((*byte)(unsafe.Add(block, head)), total+1)
	off := 0
	for i, s := range ss {
		copy(data[off:], s)
		arr[i].ptr = (*C.char)(unsafe.Pointer(&data[off]))
		arr[i].len = C.size_t(len(s))
		off += len(s)
	}
	data[total] = 0
	return block, (*C.intent_str)(block)
}

// classifyParams fills p from opts. It returns nil params when there are no options
// (the library's defaults) and a C block to free (possibly nil).
func classifyParams(p *C.intent_classify_params, opts []ClassifyOption) (*C.intent_classify_params, unsafe.Pointer, error) {
	if len(opts) == 0 {
		return nil, nil, nil
	}
	var c classifyConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if st := C.intent_classify_params_init(p, C.sizeof_intent_classify_params); st != C.INTENT_STATUS_OK {
		return nil, nil, lastError(st)
	}
	if c.hasTopK {
		// 0 would mean "the engine's setting" in C: refuse it rather than ignore it.
		if c.topK < 1 || uint64(c.topK) > math.MaxUint32 {
			return nil, nil, argError("top_k must be at least 1")
		}
		p.top_k = C.uint32_t(c.topK)
	}
	if c.hasThreshold {
		// A negative (or NaN) threshold would silently mean "the engine's setting" in C.
		t := c.threshold
		if !(t >= 0 && t <= 1) {
			return nil, nil, argError("threshold must be between 0 and 1")
		}
		p.threshold = C.float(t)
	}
	var block unsafe.Pointer
	if c.hasLabels {
		if len(c.labels) > MaxLabels {
			return nil, nil, argError("too many labels")
		}
		// A non-NULL pointer even for no labels, so that the library reports
		// StatusEmptyLabelSet instead of using all labels.
		var arr *C.intent_str
		block, arr = cStrings(c.labels)
		p.labels = arr
		p.n_labels = C.size_t(len(c.labels))
	}
	return p, block, nil
}

// copyResult copies a C result into Go values; r stays owned by the caller.
func copyResult(r *C.intent_result) (*Result, error) {
	res := &Result{
		Intent:     C.GoString(C.intent_result_intent(r)),
		Confidence: float32(C.intent_result_confidence(r)),
		Fallback:   C.intent_result_is_fallback(r) != 0,
	}
	n := int(C.intent_result_top_count(r))
	res.Top = make([]LabelScore, n)
	for i := 0; i < n; i++ {
		var label *C.char
		var prob C.float
		if st := C.intent_result_top(r, C.size_t(i), &label, &prob); st != C.INTENT_STATUS_OK {
			return nil, lastError(st)
		}
		res.Top[i] = LabelScore{Label: C.GoString(label), Probability: float32(prob)}
	}
	var t C.intent_timings
	t.struct_size = C.sizeof_intent_timings
	if st := C.intent_result_timings(r, &t); st != C.INTENT_STATUS_OK {
		return nil, lastError(st)
	}
	res.Timings = Timings{
		TokenizeUS: uint64(t.tokenize_us),
		QueueUS:    uint64(t.queue_us),
		EvalUS:     uint64(t.eval_us),
		TotalUS:    uint64(t.total_us),
		BatchSize:  uint32(t.batch_size),
	}
	return res, nil
}

// Classify classifies one query. The text goes to the library byte for byte: invalid
// UTF-8 fails with StatusInvalidUTF8, an empty or blank query with StatusEmptyQuery, a
// query over the engine's limit with StatusQueryTooLong (unless Options.Truncate).
func (e *Engine) Classify(text string, opts ...ClassifyOption) (*Result, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.handle == nil {
		return nil, errClosed()
	}
	// intent_last_error is per OS thread: stay on this one until the error is read.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var p C.intent_classify_params
	params, block, err := classifyParams(&p, opts)
	if err != nil {
		return nil, err
	}
	defer C.free(block)

	// C.CString copies all bytes (embedded NULs included) and is never NULL, also for "".
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))

	var r *C.intent_result
	st := C.intent_classify(e.handle, ctext, C.size_t(len(text)), params, &r)
	runtime.KeepAlive(e)
	if st != C.INTENT_STATUS_OK {
		return nil, lastError(st)
	}
	defer C.intent_result_free(r)
	return copyResult(r)
}

// ClassifyBatch classifies several queries, evaluated together (faster than one
// Classify call each). It returns one item per query, in order: a bad query gets its
// own Err and does not fail the others. The call itself fails only when the batch as a
// whole is refused (bad options, more than MaxBatchQueries queries, closed engine).
func (e *Engine) ClassifyBatch(texts []string, opts ...ClassifyOption) ([]BatchItem, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.handle == nil {
		return nil, errClosed()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var p C.intent_classify_params
	params, labelBlock, err := classifyParams(&p, opts)
	if err != nil {
		return nil, err
	}
	defer C.free(labelBlock)

	block, arr := cStrings(texts)
	defer C.free(block)

	var b *C.intent_batch
	st := C.intent_classify_batch(e.handle, arr, C.size_t(len(texts)), params, &b)
	runtime.KeepAlive(e)
	if st != C.INTENT_STATUS_OK {
		return nil, lastError(st)
	}
	defer C.intent_batch_free(b)

	n := int(C.intent_batch_count(b))
	if n != len(texts) {
		return nil, &Error{Code: StatusInternal, Message: "the library answered a different number of queries than were asked"}
	}
	items := make([]BatchItem, n)
	for i := range items {
		idx := C.size_t(i)
		if st := C.intent_batch_status(b, idx); st != C.INTENT_STATUS_OK {
			msg := ""
			if m := C.intent_batch_error(b, idx); m != nil {
				msg = C.GoString(m)
			}
			items[i].Err = &Error{Code: Status(st), Message: msg}
			continue
		}
		r := C.intent_batch_result(b, idx)
		if r == nil {
			items[i].Err = &Error{Code: StatusInternal, Message: "the library reported success without a result"}
			continue
		}
		res, err := copyResult(r)
		if err != nil {
			items[i].Err = err
			continue
		}
		items[i].Result = res
	}
	return items, nil
}
