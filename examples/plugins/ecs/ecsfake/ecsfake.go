// Package ecsfake is an in-memory stand-in for AWS ECS and CloudWatch Logs
// that speaks their real wire protocol (AWS JSON 1.1: a POST whose
// X-Amz-Target header names the operation, SigV4-signed) to the real
// aws-sdk-go-v2 clients. It exists for tests: the ECS plugin's own tests and
// rise's end-to-end test drive the plugin against it through the plugin's
// `endpoint` setting.
//
// It keeps task definitions and services in memory. A service rollout
// advances one step per DescribeServices call: the first look sees it
// IN_PROGRESS, the next sees all tasks running and the rollout COMPLETED
// (steady state), unless the image was marked with FailRollouts.
package ecsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
)

// The static credentials and region the fake accepts. Requests signed with
// anything else are refused like AWS refuses them.
const (
	AccessKeyID     = "AKIDTEST"
	SecretAccessKey = "secret"
	Region          = "eu-west-1"
	Account         = "123456789012"
)

const (
	ecsTarget  = "AmazonEC2ContainerServiceV20141113."
	logsTarget = "Logs_20140328."
	arnPrefix  = "arn:aws:ecs:" + Region + ":" + Account + ":"
)

// Env is the environment a plugin process needs to talk to the fake: the
// static credentials and no shared config files, instance metadata or
// profiles. home is the plugin's HOME.
func Env(home string) map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":           AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             home + "/.aws/none",
		"AWS_SHARED_CREDENTIALS_FILE": home + "/.aws/none",
		"HOME":                        home,
	}
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the endpoint to configure: runtime "ecs" { endpoint = URL }.
	URL string
	srv *httptest.Server

	mu        sync.Mutex
	calls     []string
	requests  map[string][]map[string]any
	taskDefs  map[string]map[string]any // ARN -> task definition
	revisions map[string]int            // family -> last revision
	services  map[string]*service       // name -> service
	logs      []LogEvent
	failImage string
}

type service struct {
	name, cluster, taskDef string
	desired, running       int
	rollout                string // IN_PROGRESS, COMPLETED, FAILED
	deleted                bool
}

// LogEvent is one CloudWatch Logs event.
type LogEvent struct {
	Group, Stream string
	ID            string
	Timestamp     int64 // milliseconds since the epoch
	Message       string
}

// Start starts a fake on a loopback port. Close stops it.
func Start() *Server {
	s := &Server{requests: map[string][]map[string]any{}, taskDefs: map[string]map[string]any{},
		revisions: map[string]int{}, services: map[string]*service{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if ct := r.Header.Get("Content-Type"); r.Method != http.MethodPost || ct != "application/x-amz-json-1.1" {
		fail(w, http.StatusBadRequest, "SerializationException", "want a POST of application/x-amz-json-1.1, got "+r.Method+" "+ct)
		return
	}
	var op, signing string
	switch {
	case strings.HasPrefix(target, ecsTarget):
		op, signing = strings.TrimPrefix(target, ecsTarget), "ecs"
	case strings.HasPrefix(target, logsTarget):
		op, signing = strings.TrimPrefix(target, logsTarget), "logs"
	default:
		fail(w, http.StatusBadRequest, "UnknownOperationException", "unknown X-Amz-Target "+target)
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.Contains(auth, "AWS4-HMAC-SHA256 Credential="+AccessKeyID+"/") || !strings.Contains(auth, "/"+Region+"/"+signing+"/aws4_request") {
		fail(w, http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid: "+auth)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, op)
	s.requests[op] = append(s.requests[op], in)
	out, errType := s.handle(op, in)
	s.mu.Unlock()
	if errType != "" {
		fail(w, http.StatusBadRequest, errType, fmt.Sprint(out))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func fail(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// Calls returns the operations called since the last Calls, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

// Requests returns the request bodies of every op call so far, oldest first.
func (s *Server) Requests(op string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests[op])
}

// Last returns the last request body of op, or nil if op was never called.
func (s *Server) Last(op string) map[string]any {
	rs := s.Requests(op)
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1]
}

// FailRollouts makes rollouts of task definitions running image fail (the
// deployment circuit breaker trips).
func (s *Server) FailRollouts(image string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failImage = image
}

// AddLogs appends CloudWatch Logs events.
func (s *Server) AddLogs(events ...LogEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, events...)
}

// Service is a service as the fake sees it.
type Service struct {
	Name, Cluster, TaskDefinition string
	DesiredCount, RunningCount    int
	RolloutState                  string
	Deleted                       bool
}

// Service returns the service called name.
func (s *Server) Service(name string) (Service, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.services[name]
	if v == nil {
		return Service{}, false
	}
	return Service{Name: v.name, Cluster: v.cluster, TaskDefinition: v.taskDef, DesiredCount: v.desired,
		RunningCount: v.running, RolloutState: v.rollout, Deleted: v.deleted}, true
}

// Image returns the image of a task definition's first container.
func (s *Server) Image(taskDefinitionARN string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.image(taskDefinitionARN)
}
