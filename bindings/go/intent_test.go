package intent

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Opening an engine takes about two seconds: the tests share one.
var (
	sharedOnce sync.Once
	shared     *Engine
	sharedErr  error
)

func sharedEngine(t testing.TB) *Engine {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Open(Options{}) })
	if sharedErr != nil {
		t.Fatalf("Open(default options): %v", sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the shared engine:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// wantCode fails unless err is an *Error with the given code.
func wantCode(t *testing.T, err error, code Status) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code.Name())
	}
	var ie *Error
	if !errors.As(err, &ie) {
		t.Fatalf("got %T %v, want *intent.Error", err, err)
	}
	if ie.Code != code {
		t.Fatalf("got code %d (%s): %q, want %d (%s)", ie.Code, ie.Code.Name(), ie.Message, code, code.Name())
	}
	if !errors.Is(err, code) {
		t.Fatalf("errors.Is(err, %s) is false", code.Name())
	}
	if ie.Message == "" {
		t.Fatalf("%s error has an empty message", code.Name())
	}
	return ie
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func checkResult(t *testing.T, e *Engine, r *Result, wantTop int) {
	t.Helper()
	if r == nil {
		t.Fatal("nil result")
	}
	if !contains(e.Labels(), r.Intent) {
		t.Fatalf("intent %q is not a label of the taxonomy", r.Intent)
	}
	if !(r.Confidence > 0 && r.Confidence <= 1) {
		t.Fatalf("confidence %v is not in (0, 1]", r.Confidence)
	}
	if wantTop >= 0 && len(r.Top) != wantTop {
		t.Fatalf("top has %d entries, want %d: %+v", len(r.Top), wantTop, r.Top)
	}
	for i, s := range r.Top {
		if !contains(e.Labels(), s.Label) {
			t.Fatalf("top[%d] label %q is not in the taxonomy", i, s.Label)
		}
		if !(s.Probability >= 0 && s.Probability <= 1) {
			t.Fatalf("top[%d] probability %v out of [0, 1]", i, s.Probability)
		}
		if i > 0 && s.Probability > r.Top[i-1].Probability {
			t.Fatalf("top is not sorted best first: %+v", r.Top)
		}
	}
	if !r.Fallback && len(r.Top) > 0 && (r.Top[0].Label != r.Intent || r.Top[0].Probability != r.Confidence) {
		t.Fatalf("top[0] %+v disagrees with intent %q confidence %v", r.Top[0], r.Intent, r.Confidence)
	}
	if r.Timings.TotalUS == 0 || r.Timings.BatchSize == 0 {
		t.Fatalf("timings look unset: %+v", r.Timings)
	}
}

func TestVersion(t *testing.T) {
	if v := Version(); !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Fatalf("Version() = %q, want MAJOR.MINOR.PATCH", v)
	}
	if ABIVersion() != BindingABIVersion || BindingABIVersion != 1 {
		t.Fatalf("ABIVersion() = %d, BindingABIVersion = %d", ABIVersion(), BindingABIVersion)
	}
	msg := (&ABIMismatchError{Library: 2, Binding: 1}).Error()
	if !strings.Contains(msg, "library ABI 2") || !strings.Contains(msg, "built for 1") {
		t.Fatalf("ABI mismatch message %q", msg)
	}
}

func TestStatusCodes(t *testing.T) {
	all := []Status{StatusOK, StatusInvalidArgument, StatusInvalidUTF8, StatusEmptyQuery,
		StatusQueryTooLong, StatusUnknownLabel, StatusEmptyLabelSet, StatusInvalidTaxonomy,
		StatusModelNotFound, StatusInvalidModel, StatusUnsupportedModel, StatusPluginNotFound,
		StatusPluginABIMismatch, StatusPluginUnavailable, StatusBackend, StatusOutOfMemory,
		StatusInternal, StatusIO, StatusClosed}
	for i, s := range all {
		if int(s) != i {
			t.Fatalf("%s = %d, want %d", s.Name(), s, i)
		}
		if s.String() == "" || strings.HasPrefix(s.String(), "unknown") {
			t.Fatalf("status %d has no text", i)
		}
	}
	if Status(99).String() != "unknown status 99" {
		t.Fatalf("Status(99).String() = %q", Status(99).String())
	}
	err := fmt.Errorf("wrapped: %w", &Error{Code: StatusEmptyQuery, Message: "the query is empty"})
	if !errors.Is(err, StatusEmptyQuery) || errors.Is(err, StatusQueryTooLong) {
		t.Fatal("errors.Is with a Status does not match by code")
	}
	if !errors.Is(err, &Error{Code: StatusEmptyQuery}) {
		t.Fatal("errors.Is with a message-less *Error does not match by code")
	}
	if StatusOf(err) != StatusEmptyQuery || StatusOf(nil) != StatusOK || StatusOf(errors.New("x")) != StatusInternal {
		t.Fatal("StatusOf")
	}
	if got := err.Error(); !strings.Contains(got, "the query is empty") || !strings.Contains(got, "EMPTY_QUERY") {
		t.Fatalf("Error() = %q", got)
	}
}

func TestLabels(t *testing.T) {
	e := sharedEngine(t)
	labels := e.Labels()
	if len(labels) < 2 {
		t.Fatalf("Labels() = %v", labels)
	}
	for _, want := range []string{"track_order", "cancel_order", "out_of_scope"} {
		if !contains(labels, want) {
			t.Fatalf("Labels() lacks %q: %v", want, labels)
		}
	}
	labels[0] = "mutated"
	if e.Labels()[0] == "mutated" {
		t.Fatal("Labels() returns the engine's own slice")
	}
}

func TestClassify(t *testing.T) {
	e := sharedEngine(t)
	r, err := e.Classify("where is my parcel")
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, e, r, 3)
	if r.Timings.BatchSize != 1 {
		t.Fatalf("single query batch size %d", r.Timings.BatchSize)
	}
	t.Logf("where is my parcel -> %s (%.3f) top %+v timings %+v", r.Intent, r.Confidence, r.Top, r.Timings)
}

func TestClassifyBadQueries(t *testing.T) {
	e := sharedEngine(t)
	cases := []struct {
		name string
		text string
		code Status
	}{
		{"empty", "", StatusEmptyQuery},
		{"blank", " \t\n ", StatusEmptyQuery},
		{"invalid utf8", "\xff\xfe", StatusInvalidUTF8},
		{"invalid utf8 inside", "where is my \xc3 parcel", StatusInvalidUTF8},
		{"too long in tokens", strings.Repeat("parcel ", 200), StatusQueryTooLong},
		{"1 MiB", strings.Repeat("a", 1<<20), StatusQueryTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := e.Classify(c.text)
			if r != nil {
				t.Fatalf("got a result %+v", r)
			}
			wantCode(t, err, c.code)
		})
	}
}

func TestClassifyBatch(t *testing.T) {
	e := sharedEngine(t)
	texts := []string{
		"where is my parcel",
		"",
		"I want to cancel my order",
		"   ",
		"\xff\xfe",
		"do you accept paypal?",
		strings.Repeat("parcel ", 200),
		"I forgot my password",
	}
	want := map[int]Status{1: StatusEmptyQuery, 3: StatusEmptyQuery, 4: StatusInvalidUTF8, 6: StatusQueryTooLong}
	items, err := e.ClassifyBatch(texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(texts) {
		t.Fatalf("%d items for %d texts", len(items), len(texts))
	}
	for i, it := range items {
		if code, bad := want[i]; bad {
			if it.Result != nil {
				t.Fatalf("item %d (%q): got a result", i, texts[i])
			}
			wantCode(t, it.Err, code)
			continue
		}
		if it.Err != nil {
			t.Fatalf("item %d (%q): %v", i, texts[i], it.Err)
		}
		checkResult(t, e, it.Result, 3)
		t.Logf("%q -> %s (%.3f), batch size %d", texts[i], it.Result.Intent, it.Result.Confidence, it.Result.Timings.BatchSize)
	}

	empty, err := e.ClassifyBatch(nil)
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty batch: %v, %v", empty, err)
	}
}

func TestWithLabels(t *testing.T) {
	e := sharedEngine(t)
	allowed := []string{"track_order", "cancel_order"}
	r, err := e.Classify("where is my parcel", WithLabels(allowed...))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, e, r, -1)
	if !contains(allowed, r.Intent) {
		t.Fatalf("restricted to %v, got %q", allowed, r.Intent)
	}
	for _, s := range r.Top {
		if !contains(allowed, s.Label) {
			t.Fatalf("top entry %q is outside the allowed labels", s.Label)
		}
	}

	items, err := e.ClassifyBatch([]string{"cancel it please", "where is my stuff"}, WithLabels(allowed...))
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		if it.Err != nil || !contains(allowed, it.Result.Intent) {
			t.Fatalf("batch item %d: %+v", i, it)
		}
	}

	_, err = e.Classify("where is my parcel", WithLabels("track_order", "teleport_me"))
	ie := wantCode(t, err, StatusUnknownLabel)
	if !strings.Contains(ie.Message, "teleport_me") {
		t.Fatalf("message %q does not name the unknown label", ie.Message)
	}

	// The library reports a bad label set for a batch on each query (the batch itself
	// is processed); accept a whole-call error too, should that change.
	items, err = e.ClassifyBatch([]string{"a", "b"}, WithLabels("teleport_me"))
	if err != nil {
		wantCode(t, err, StatusUnknownLabel)
	} else {
		for _, it := range items {
			wantCode(t, it.Err, StatusUnknownLabel)
		}
	}

	_, err = e.Classify("where is my parcel", WithLabels())
	wantCode(t, err, StatusEmptyLabelSet)
	_, err = e.Classify("where is my parcel", WithLabels("track_order", "\xff"))
	wantCode(t, err, StatusInvalidUTF8)
}

func TestTopKAndThreshold(t *testing.T) {
	e := sharedEngine(t)
	r, err := e.Classify("where is my parcel", WithTopK(5))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, e, r, 5)
	r, err = e.Classify("where is my parcel", WithTopK(1))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, e, r, 1)

	// Nothing reaches probability 1 with a taxonomy of many labels: always the fallback.
	r, err = e.Classify("where is my parcel", WithThreshold(1))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Fallback || r.Intent != "out_of_scope" {
		t.Fatalf("threshold 1: got %q fallback=%v", r.Intent, r.Fallback)
	}
	r, err = e.Classify("where is my parcel", WithThreshold(0))
	if err != nil || r.Fallback {
		t.Fatalf("threshold 0: %+v %v", r, err)
	}

	for _, opt := range []ClassifyOption{WithTopK(0), WithTopK(-1), WithThreshold(-0.5), WithThreshold(1.5)} {
		_, err := e.Classify("where is my parcel", opt)
		wantCode(t, err, StatusInvalidArgument)
		_, err = e.ClassifyBatch([]string{"where is my parcel"}, opt)
		wantCode(t, err, StatusInvalidArgument)
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(Options{Model: "/nonexistent/model.gguf"})
	ie := wantCode(t, err, StatusModelNotFound)
	if !strings.Contains(ie.Message, "/nonexistent/model.gguf") {
		t.Fatalf("message %q does not name the path", ie.Message)
	}

	_, err = Open(Options{Backend: "no-such-backend"})
	ie = wantCode(t, err, StatusPluginNotFound)
	t.Logf("no-such-backend: %v", ie)

	_, err = Open(Options{Taxonomy: "/nonexistent/taxonomy.json"})
	if StatusOf(err) != StatusIO && StatusOf(err) != StatusInvalidTaxonomy {
		t.Fatalf("missing taxonomy: %v", err)
	}

	_, err = Open(Options{TopK: -1})
	wantCode(t, err, StatusInvalidArgument)
	_, err = Open(Options{Threshold: 2})
	wantCode(t, err, StatusInvalidArgument)
}

func TestCloseAndUseAfterClose(t *testing.T) {
	e, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Classify("hello"); err != nil {
		t.Fatal(err)
	}

	// Close while other goroutines classify: every call either completes or sees
	// StatusClosed, and Close waits for those in flight.
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < 5; i++ {
				_, err := e.Classify("cancel my order")
				if err != nil && !errors.Is(err, StatusClosed) {
					t.Errorf("classify during close: %v", err)
					return
				}
			}
		}()
	}
	close(start)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = e.Classify("where is my parcel")
	wantCode(t, err, StatusClosed)
	_, err = e.ClassifyBatch([]string{"where is my parcel"})
	wantCode(t, err, StatusClosed)
	if len(e.Labels()) == 0 {
		t.Fatal("Labels() is empty after Close")
	}
}

// soakQueries are the queries of the soak tests of every binding (bindings/soak-queries.txt):
// several languages, lengths and intents.
func soakQueries(t *testing.T) []string {
	b, err := os.ReadFile("../soak-queries.txt")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// soakPerWorker is the number of queries each goroutine of TestSoak classifies after its
// warm-up: INTENT_SOAK_PER_WORKER, default 48 (CI); scripts/soak.sh is the full-scale run.
func soakPerWorker(t *testing.T) int {
	n := 48
	if v := os.Getenv("INTENT_SOAK_PER_WORKER"); v != "" {
		if _, err := fmt.Sscan(v, &n); err != nil || n < 1 {
			t.Fatalf("INTENT_SOAK_PER_WORKER=%q is not a positive number", v)
		}
	}
	return n
}

// residentKB is this process's resident memory (VmRSS), in KiB.
func residentKB(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var kb int
	if m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b); m != nil {
		fmt.Sscan(string(m[1]), &kb)
	}
	if kb == 0 {
		t.Fatal("no VmRSS in /proc/self/status")
	}
	return kb
}

// TestSoak: eight goroutines classify on one engine; every answer (label and confidence,
// exactly) equals the sequential one, and resident memory grows less than 5% after warm-up.
func TestSoak(t *testing.T) {
	e := sharedEngine(t)
	soakQueries := soakQueries(t)
	want := make([]*Result, len(soakQueries))
	for i, q := range soakQueries {
		r, err := e.Classify(q)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r
	}
	const goroutines = 8
	run := func(perGoroutine int) {
		var wg sync.WaitGroup
		errs := make(chan error, goroutines*perGoroutine)
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < perGoroutine; i++ {
					k := (g*5 + i) % len(soakQueries)
					r, err := e.Classify(soakQueries[k])
					if err != nil {
						errs <- fmt.Errorf("goroutine %d, %q: %w", g, soakQueries[k], err)
					} else if r.Intent != want[k].Intent || r.Confidence != want[k].Confidence {
						errs <- fmt.Errorf("goroutine %d, %q: got %s %.6f, sequential run gave %s %.6f",
							g, soakQueries[k], r.Intent, r.Confidence, want[k].Intent, want[k].Confidence)
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	run(len(soakQueries)) // warm-up: every context and query once
	before := residentKB(t)
	n := soakPerWorker(t)
	run(n)
	after := residentKB(t)
	growth := float64(after-before) / float64(before)
	t.Logf("soak: %d goroutines x %d queries, RSS %d -> %d KiB (%+.2f%%)", goroutines, n, before, after, growth*100)
	if growth > 0.05 {
		t.Errorf("resident memory grew by %.1f%% after warm-up (limit 5%%)", growth*100)
	}
}
