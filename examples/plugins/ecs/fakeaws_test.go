package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeAWS speaks the AWS JSON 1.1 protocol of ECS and CloudWatch Logs (the
// X-Amz-Target header names the operation) to the real aws-sdk-go-v2
// clients. It keeps task definitions and services in memory and rolls a
// service deployment out one step per DescribeServices call.
type fakeAWS struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	calls     []string                    // operations in order
	requests  map[string][]map[string]any // request bodies by operation
	taskDefs  map[string]map[string]any   // ARN -> task definition
	revisions map[string]int              // family -> last revision
	services  map[string]*fakeService     // name -> service
	logs      []map[string]any            // CloudWatch log events
	failImage string                      // rollouts of this image fail
}

type fakeService struct {
	name, cluster, taskDef string
	desired, running       int
	rollout                string // IN_PROGRESS, COMPLETED, FAILED
	deleted                bool
}

const (
	ecsTarget  = "AmazonEC2ContainerServiceV20141113."
	logsTarget = "Logs_20140328."
	accountARN = "arn:aws:ecs:eu-west-1:123456789012:"
)

func newFakeAWS(t *testing.T) *fakeAWS {
	f := &fakeAWS{t: t, requests: map[string][]map[string]any{}, taskDefs: map[string]map[string]any{},
		revisions: map[string]int{}, services: map[string]*fakeService{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	// The SDK reads credentials and region from the environment; keep the
	// host's AWS config out of it.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return f
}

func (f *fakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	auth := r.Header.Get("Authorization")
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		f.fail(w, 400, "SerializationException", "content type "+ct)
		return
	}
	service := map[bool]string{true: "ecs", false: "logs"}[strings.HasPrefix(target, ecsTarget)]
	if !strings.Contains(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/eu-west-1/"+service+"/aws4_request") {
		f.fail(w, 403, "UnrecognizedClientException", "bad signature: "+auth)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		f.fail(w, 400, "SerializationException", err.Error())
		return
	}
	op := strings.TrimPrefix(strings.TrimPrefix(target, ecsTarget), logsTarget)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
	f.requests[op] = append(f.requests[op], in)
	out, errType := f.handle(op, in)
	if errType != "" {
		f.fail(w, 400, errType, fmt.Sprint(out))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func (f *fakeAWS) fail(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (f *fakeAWS) handle(op string, in map[string]any) (any, string) {
	str := func(k string) string { s, _ := in[k].(string); return s }
	switch op {
	case "RegisterTaskDefinition":
		fam := str("family")
		f.revisions[fam]++
		arn := fmt.Sprintf("%stask-definition/%s:%d", accountARN, fam, f.revisions[fam])
		td := map[string]any{}
		for k, v := range in {
			if k != "tags" {
				td[k] = v
			}
		}
		td["taskDefinitionArn"], td["revision"], td["status"] = arn, f.revisions[fam], "ACTIVE"
		f.taskDefs[arn] = td
		return map[string]any{"taskDefinition": td}, ""
	case "DescribeTaskDefinition":
		td, ok := f.taskDefs[str("taskDefinition")]
		if !ok {
			return "unknown task definition", "ClientException"
		}
		return map[string]any{"taskDefinition": td}, ""
	case "CreateService":
		name := str("serviceName")
		if s := f.services[name]; s != nil && !s.deleted {
			return "service exists", "InvalidParameterException"
		}
		s := &fakeService{name: name, cluster: str("cluster"), desired: int(in["desiredCount"].(float64))}
		f.services[name] = s
		f.rollout(s, str("taskDefinition"))
		return map[string]any{"service": f.view(s)}, ""
	case "UpdateService":
		s := f.services[str("service")]
		if s == nil || s.deleted {
			return "service not found", "ServiceNotFoundException"
		}
		if d, ok := in["desiredCount"].(float64); ok {
			s.desired = int(d)
			s.running = min(s.running, s.desired)
		}
		if td := str("taskDefinition"); td != "" && td != s.taskDef {
			f.rollout(s, td)
		}
		return map[string]any{"service": f.view(s)}, ""
	case "DescribeServices":
		var svcs []any
		var failures []any
		for _, n := range in["services"].([]any) {
			s := f.services[n.(string)]
			if s == nil {
				failures = append(failures, map[string]any{"arn": accountARN + "service/" + n.(string), "reason": "MISSING"})
				continue
			}
			svcs = append(svcs, f.view(s))
			f.advance(s) // observed before the step: the first look sees the rollout in progress
		}
		return map[string]any{"services": svcs, "failures": failures}, ""
	case "ListServices":
		var arns []string
		for _, s := range f.services {
			if !s.deleted && s.cluster == str("cluster") {
				arns = append(arns, accountARN+"service/"+s.cluster+"/"+s.name)
			}
		}
		return map[string]any{"serviceArns": arns}, ""
	case "DeleteService":
		s := f.services[str("service")]
		if s == nil || s.deleted {
			return "service not found", "ServiceNotFoundException"
		}
		if force, _ := in["force"].(bool); !force && s.desired > 0 {
			return "scale the service to 0 first or use force", "InvalidParameterException"
		}
		s.deleted = true
		return map[string]any{"service": f.view(s)}, ""
	case "FilterLogEvents":
		var events []any
		start, _ := in["startTime"].(float64)
		for _, e := range f.logs {
			if strings.HasPrefix(e["logStreamName"].(string), str("logStreamNamePrefix")) && e["timestamp"].(int64) >= int64(start) && str("logGroupName") == e["group"] {
				events = append(events, e)
			}
		}
		return map[string]any{"events": events}, ""
	}
	return "unknown operation " + op, "UnknownOperationException"
}

// rollout starts a deployment of td on s.
func (f *fakeAWS) rollout(s *fakeService, td string) {
	s.taskDef, s.running, s.rollout = td, 0, "IN_PROGRESS"
}

// advance moves a rollout one step: IN_PROGRESS -> all tasks running and
// COMPLETED (or FAILED for failImage).
func (f *fakeAWS) advance(s *fakeService) {
	if s.rollout != "IN_PROGRESS" {
		s.running = s.desired
		return
	}
	if img := f.image(s.taskDef); img != "" && img == f.failImage {
		s.rollout = "FAILED"
		return
	}
	s.running, s.rollout = s.desired, "COMPLETED"
}

func (f *fakeAWS) image(td string) string {
	cs, _ := f.taskDefs[td]["containerDefinitions"].([]any)
	if len(cs) == 0 {
		return ""
	}
	img, _ := cs[0].(map[string]any)["image"].(string)
	return img
}

func (f *fakeAWS) view(s *fakeService) map[string]any {
	status := "ACTIVE"
	if s.deleted {
		status = "INACTIVE"
	}
	return map[string]any{
		"serviceName": s.name, "serviceArn": accountARN + "service/" + s.cluster + "/" + s.name,
		"status": status, "taskDefinition": s.taskDef, "desiredCount": s.desired, "runningCount": s.running,
		"deployments": []any{map[string]any{
			"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": s.taskDef, "desiredCount": s.desired,
			"runningCount": s.running, "rolloutState": s.rollout, "rolloutStateReason": "tasks failed to start",
		}},
	}
}

// Calls returns the operations called so far and forgets them.
func (f *fakeAWS) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// last returns the last request body of op.
func (f *fakeAWS) last(op string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	rs := f.requests[op]
	if len(rs) == 0 {
		f.t.Fatalf("no %s request", op)
	}
	return rs[len(rs)-1]
}
