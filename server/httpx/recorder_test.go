package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRecorder(t *testing.T) {
	w := httptest.NewRecorder()
	r := NewRecorder(w)
	if r.Status() != 0 || r.StatusOr(http.StatusTeapot) != http.StatusTeapot {
		t.Fatalf("nothing written: status %d", r.Status())
	}
	r.WriteHeader(http.StatusCreated)
	r.WriteHeader(http.StatusInternalServerError) // superfluous: not what the client got
	if _, err := r.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if r.Status() != http.StatusCreated || r.Bytes() != 5 || r.Unwrap() != w {
		t.Fatalf("status %d bytes %d", r.Status(), r.Bytes())
	}

	r = NewRecorder(httptest.NewRecorder())
	_, _ = r.Write([]byte("x"))
	if r.Status() != http.StatusOK {
		t.Fatalf("body without WriteHeader: status %d", r.Status())
	}
}
