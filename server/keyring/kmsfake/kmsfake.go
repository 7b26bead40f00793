// Package kmsfake is an in-memory AWS KMS for tests: an HTTP server that
// speaks KMS's wire protocol (AWS JSON 1.1: a POST whose X-Amz-Target
// header names the operation) to the real aws-sdk-go-v2 client, and that
// verifies every request's SigV4 signature by recomputing it with the
// SDK's signer. It implements Encrypt and Decrypt of symmetric keys, with
// encryption contexts, and counts calls per operation.
package kmsfake

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The static credentials and region the fake accepts.
const (
	AccessKeyID     = "AKIDKMSTEST"
	SecretAccessKey = "kms-test-secret"
	Region          = "eu-west-1"
	Account         = "123456789012"
)

const target = "TrentService."

// Server is a running fake KMS.
type Server struct {
	URL string
	srv *httptest.Server

	mu    sync.Mutex
	keys  map[string][]byte // key id -> AES key
	calls map[string]int
}

// Start starts a fake on a loopback port with the given key ids. Close it.
func Start(keyIDs ...string) *Server {
	s := &Server{keys: map[string][]byte{}, calls: map[string]int{}}
	for _, id := range keyIDs {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		s.keys[id] = k
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Env is the environment the SDK needs to reach the fake with the static
// credentials (and nothing from the host's AWS configuration).
func Env(home string) map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":           AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       SecretAccessKey,
		"AWS_REGION":                  Region,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             home + "/none",
		"AWS_SHARED_CREDENTIALS_FILE": home + "/none",
	}
}

// Calls returns how often op was called.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), target)
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" || !ok {
		fail(w, http.StatusBadRequest, "SerializationException", "want a POST of application/x-amz-json-1.1 with X-Amz-Target TrentService.*")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if msg := verify(r, body); msg != "" {
		fail(w, http.StatusBadRequest, "InvalidSignatureException", msg)
		return
	}
	var in struct {
		KeyID             string            `json:"KeyId"`
		Plaintext         []byte            `json:"Plaintext"`
		CiphertextBlob    []byte            `json:"CiphertextBlob"`
		EncryptionContext map[string]string `json:"EncryptionContext"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()
	switch op {
	case "Encrypt":
		key, ok := s.key(in.KeyID)
		if !ok {
			fail(w, http.StatusBadRequest, "NotFoundException", "Key '"+in.KeyID+"' does not exist")
			return
		}
		// Blob: key id length, key id, nonce, ciphertext (context as AAD).
		aead := gcm(key)
		nonce := make([]byte, aead.NonceSize())
		_, _ = rand.Read(nonce)
		blob := append([]byte{byte(len(in.KeyID))}, in.KeyID...)
		blob = append(blob, nonce...)
		blob = aead.Seal(blob, nonce, in.Plaintext, contextAAD(in.EncryptionContext))
		reply(w, map[string]any{"CiphertextBlob": blob, "KeyId": arn(in.KeyID), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
	case "Decrypt":
		b := in.CiphertextBlob
		if len(b) < 1 || len(b) < 1+int(b[0])+12 {
			fail(w, http.StatusBadRequest, "InvalidCiphertextException", "")
			return
		}
		id := string(b[1 : 1+b[0]])
		if in.KeyID != "" && in.KeyID != id {
			fail(w, http.StatusBadRequest, "IncorrectKeyException", "The key ID in the request does not identify a CMK that can perform this operation.")
			return
		}
		key, ok := s.key(id)
		if !ok {
			fail(w, http.StatusBadRequest, "NotFoundException", "Key '"+id+"' does not exist")
			return
		}
		aead := gcm(key)
		rest := b[1+b[0]:]
		pt, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], contextAAD(in.EncryptionContext))
		if err != nil {
			fail(w, http.StatusBadRequest, "InvalidCiphertextException", "")
			return
		}
		reply(w, map[string]any{"Plaintext": pt, "KeyId": arn(id), "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
	default:
		fail(w, http.StatusBadRequest, "UnknownOperationException", op)
	}
}

func (s *Server) key(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	return k, ok
}

// verify recomputes r's SigV4 signature over the headers it signed and
// compares it; it returns what is wrong, or "".
func verify(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return "missing SigV4 Authorization"
	}
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != AccessKeyID || scope[2] != Region || scope[3] != "kms" || scope[4] != "aws4_request" {
		return "credential scope " + fields["Credential"] + " is not " + AccessKeyID + "/<date>/" + Region + "/kms/aws4_request"
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "bad X-Amz-Date"
	}
	sum := sha256.Sum256(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != hex.EncodeToString(sum[:]) {
		return "payload hash mismatch"
	}
	re, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	re.ContentLength = int64(len(body))
	signed := strings.Split(fields["SignedHeaders"], ";")
	sort.Strings(signed)
	for _, h := range signed {
		if h == "host" || h == "content-length" {
			continue
		}
		re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, hex.EncodeToString(sum[:]), "kms", Region, at); err != nil {
		return "re-sign: " + err.Error()
	}
	want := re.Header.Get("Authorization")
	if !strings.HasSuffix(want, "Signature="+fields["Signature"]) {
		return fmt.Sprintf("signature mismatch (signed headers %s)", fields["SignedHeaders"])
	}
	return ""
}

func contextAAD(c map[string]string) []byte {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "\x00" + c[k] + "\x00")
	}
	return []byte(b.String())
}

func gcm(key []byte) cipher.AEAD {
	block, _ := aes.NewCipher(key)
	a, _ := cipher.NewGCM(block)
	return a
}

func arn(id string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return "arn:aws:kms:" + Region + ":" + Account + ":key/" + id
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}
