package ui

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
)

// responseBuffer is the http.ResponseWriter of an in-process API call.
type responseBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newResponseBuffer() *responseBuffer { return &responseBuffer{header: http.Header{}} }

func (b *responseBuffer) Header() http.Header { return b.header }

func (b *responseBuffer) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *responseBuffer) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// Flush is a no-op: the whole response is read at once.
func (b *responseBuffer) Flush() {}

func (b *responseBuffer) response(req *http.Request) *http.Response {
	b.WriteHeader(http.StatusOK)
	return &http.Response{
		Status:        strconv.Itoa(b.status) + " " + http.StatusText(b.status),
		StatusCode:    b.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        b.header,
		Body:          io.NopCloser(&b.body),
		ContentLength: int64(b.body.Len()),
		Request:       req,
	}
}
