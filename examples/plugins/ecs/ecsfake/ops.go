package ecsfake

import (
	"fmt"
	"strings"
)

// handle runs one operation with s.mu held. It returns the response body,
// or a message and an AWS error type.
func (s *Server) handle(op string, in map[string]any) (any, string) {
	str := func(k string) string { v, _ := in[k].(string); return v }
	switch op {
	case "RegisterTaskDefinition":
		fam := str("family")
		if fam == "" || in["containerDefinitions"] == nil {
			return "family and containerDefinitions are required", "ClientException"
		}
		s.revisions[fam]++
		arn := fmt.Sprintf("%stask-definition/%s:%d", arnPrefix, fam, s.revisions[fam])
		td := map[string]any{}
		for k, v := range in {
			if k != "tags" {
				td[k] = v
			}
		}
		td["taskDefinitionArn"], td["revision"], td["status"] = arn, s.revisions[fam], "ACTIVE"
		s.taskDefs[arn] = td
		return map[string]any{"taskDefinition": td}, ""
	case "DescribeTaskDefinition":
		td, ok := s.taskDefs[str("taskDefinition")]
		if !ok {
			return "Unable to describe task definition " + str("taskDefinition"), "ClientException"
		}
		return map[string]any{"taskDefinition": td}, ""
	case "CreateService":
		name := str("serviceName")
		if v := s.services[name]; v != nil && !v.deleted {
			return "Creation of service was not idempotent.", "InvalidParameterException"
		}
		if _, ok := s.taskDefs[str("taskDefinition")]; !ok {
			return "TaskDefinition not found.", "ClientException"
		}
		desired, _ := in["desiredCount"].(float64)
		v := &service{name: name, cluster: str("cluster"), desired: int(desired)}
		s.services[name] = v
		v.start(str("taskDefinition"))
		return map[string]any{"service": s.view(v)}, ""
	case "UpdateService":
		v := s.services[str("service")]
		if v == nil || v.deleted {
			return "Service not found.", "ServiceNotFoundException"
		}
		if d, ok := in["desiredCount"].(float64); ok {
			v.desired = int(d)
			v.running = min(v.running, v.desired)
		}
		if td := str("taskDefinition"); td != "" && td != v.taskDef {
			if _, ok := s.taskDefs[td]; !ok {
				return "TaskDefinition not found.", "ClientException"
			}
			v.start(td)
		}
		return map[string]any{"service": s.view(v)}, ""
	case "DescribeServices":
		var svcs, failures []any
		names, _ := in["services"].([]any)
		for _, n := range names {
			name, _ := n.(string)
			v := s.services[name]
			if v == nil || v.cluster != str("cluster") {
				failures = append(failures, map[string]any{"arn": arnPrefix + "service/" + name, "reason": "MISSING"})
				continue
			}
			svcs = append(svcs, s.view(v))
			s.advance(v) // observed before the step: the first look sees the rollout in progress
		}
		return map[string]any{"services": svcs, "failures": failures}, ""
	case "ListServices":
		arns := []string{}
		for _, v := range s.services {
			if !v.deleted && v.cluster == str("cluster") {
				arns = append(arns, arnPrefix+"service/"+v.cluster+"/"+v.name)
			}
		}
		return map[string]any{"serviceArns": arns}, ""
	case "DeleteService":
		v := s.services[str("service")]
		if v == nil || v.deleted {
			return "Service not found.", "ServiceNotFoundException"
		}
		if force, _ := in["force"].(bool); !force && v.desired > 0 {
			return "The service cannot be stopped while it is scaled above 0.", "InvalidParameterException"
		}
		v.deleted = true
		return map[string]any{"service": s.view(v)}, ""
	case "FilterLogEvents":
		events := []any{}
		start, _ := in["startTime"].(float64)
		for _, e := range s.logs {
			if e.Group == str("logGroupName") && strings.HasPrefix(e.Stream, str("logStreamNamePrefix")) && e.Timestamp >= int64(start) {
				events = append(events, map[string]any{"eventId": e.ID, "logStreamName": e.Stream,
					"timestamp": e.Timestamp, "message": e.Message})
			}
		}
		return map[string]any{"events": events}, ""
	}
	return "unknown operation " + op, "UnknownOperationException"
}

// start begins a rollout of td.
func (v *service) start(td string) {
	v.taskDef, v.running, v.rollout = td, 0, "IN_PROGRESS"
}

// advance moves a rollout one step: IN_PROGRESS -> all tasks running and
// COMPLETED (or FAILED for the failing image).
func (s *Server) advance(v *service) {
	if v.rollout != "IN_PROGRESS" {
		if v.rollout == "COMPLETED" {
			v.running = v.desired
		}
		return
	}
	if img := s.image(v.taskDef); img != "" && img == s.failImage {
		v.rollout = "FAILED"
		return
	}
	v.running, v.rollout = v.desired, "COMPLETED"
}

func (s *Server) image(td string) string {
	cs, _ := s.taskDefs[td]["containerDefinitions"].([]any)
	if len(cs) == 0 {
		return ""
	}
	c, _ := cs[0].(map[string]any)
	img, _ := c["image"].(string)
	return img
}

func (s *Server) view(v *service) map[string]any {
	status := "ACTIVE"
	if v.deleted {
		status = "INACTIVE"
	}
	return map[string]any{
		"serviceName": v.name, "serviceArn": arnPrefix + "service/" + v.cluster + "/" + v.name,
		"status": status, "taskDefinition": v.taskDef, "desiredCount": v.desired, "runningCount": v.running,
		"deployments": []any{map[string]any{
			"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": v.taskDef, "desiredCount": v.desired,
			"runningCount": v.running, "rolloutState": v.rollout, "rolloutStateReason": "tasks failed to start",
		}},
	}
}
