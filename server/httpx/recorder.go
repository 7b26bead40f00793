package httpx

import "net/http"

// Recorder wraps a ResponseWriter and notes the response's status (the
// final one: informational 1xx responses do not count) and body size, for
// request logs, metrics and the audit log. It passes Flush through and
// unwraps for http.ResponseController, so streaming handlers and upgrades
// (hijacking) keep working.
type Recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// NewRecorder wraps w.
func NewRecorder(w http.ResponseWriter) *Recorder { return &Recorder{ResponseWriter: w} }

// WriteHeader records code and sends it.
func (r *Recorder) WriteHeader(code int) {
	if r.status < 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write sends b (with status 200 when none was written) and counts it.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Flush flushes the underlying writer when it can.
func (r *Recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Status is the status sent so far: 0 when the handler has written
// nothing yet.
func (r *Recorder) Status() int { return r.status }

// StatusOr is Status, or def when nothing was written.
func (r *Recorder) StatusOr(def int) int {
	if r.status == 0 {
		return def
	}
	return r.status
}

// Bytes is the size of the body written so far.
func (r *Recorder) Bytes() int64 { return r.bytes }
