package ecr

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAWS speaks STS's query/XML protocol and ECR's JSON 1.1 protocol, enough
// for the real aws-sdk-go-v2 clients to run against it.
type fakeAWS struct {
	mu       sync.Mutex
	calls    []string          // "sts:AssumeRole", "ecr:CreateRepository", ...
	assume   url.Values        // last AssumeRole form
	authKeys []string          // access key ids that signed each ECR call
	bodies   map[string][]byte // last body per ECR operation
	repos    map[string]*fakeRepo
	images   map[string]string // repo:tag -> digest
}

type fakeRepo struct {
	Name       string
	ScanOnPush bool
	Mutability string
	Tags       map[string]string
}

const assumedKey = "ASIAASSUMEDKEY000001"

func newFakeAWS(t *testing.T) (*fakeAWS, string) {
	f := &fakeAWS{bodies: map[string][]byte{}, repos: map[string]*fakeRepo{}, images: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		op := strings.TrimPrefix(target, "AmazonEC2ContainerRegistry_V20150921.")
		f.calls = append(f.calls, "ecr:"+op)
		f.bodies[op] = body
		f.authKeys = append(f.authKeys, credentialKey(r.Header.Get("Authorization")))
		f.ecr(w, op, body)
		return
	}
	form, _ := url.ParseQuery(string(body))
	f.calls = append(f.calls, "sts:"+form.Get("Action"))
	if form.Get("Action") != "AssumeRole" {
		http.Error(w, "unsupported", 400)
		return
	}
	f.assume = form
	w.Header().Set("Content-Type", "text/xml")
	exp := time.Now().Add(15 * time.Minute).UTC().Format(time.RFC3339)
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-token</SessionToken><Expiration>%s</Expiration></Credentials>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/rise-push/%s</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, assumedKey, exp, form.Get("RoleSessionName"))
}

func credentialKey(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(rest, "/")
	return key
}

func awsError(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(400)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (f *fakeAWS) ecr(w http.ResponseWriter, op string, body []byte) {
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	name, _ := in["repositoryName"].(string)
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(v)
	}
	repoJSON := func(r *fakeRepo) map[string]any {
		return map[string]any{"repositoryName": r.Name, "repositoryArn": "arn:aws:ecr:eu-west-1:123456789012:repository/" + r.Name,
			"imageTagMutability": r.Mutability, "imageScanningConfiguration": map[string]any{"scanOnPush": r.ScanOnPush}}
	}
	switch op {
	case "GetAuthorizationToken":
		reply(map[string]any{"authorizationData": []any{map[string]any{
			"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:ecr-password")),
			"expiresAt":          float64(time.Now().Add(12 * time.Hour).Unix()),
			"proxyEndpoint":      "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
		}}})
	case "CreateRepository":
		if _, ok := f.repos[name]; ok {
			awsError(w, "RepositoryAlreadyExistsException", "exists")
			return
		}
		r := &fakeRepo{Name: name, Mutability: "MUTABLE", Tags: map[string]string{}}
		if m, ok := in["imageTagMutability"].(string); ok {
			r.Mutability = m
		}
		if sc, ok := in["imageScanningConfiguration"].(map[string]any); ok {
			r.ScanOnPush, _ = sc["scanOnPush"].(bool)
		}
		r.Tags = tagMap(in["tags"])
		f.repos[name] = r
		reply(map[string]any{"repository": repoJSON(r)})
	case "DescribeRepositories":
		names, _ := in["repositoryNames"].([]any)
		r, ok := f.repos[fmt.Sprint(names[0])]
		if !ok {
			awsError(w, "RepositoryNotFoundException", "missing")
			return
		}
		reply(map[string]any{"repositories": []any{repoJSON(r)}})
	case "PutImageScanningConfiguration":
		sc, _ := in["imageScanningConfiguration"].(map[string]any)
		f.repos[name].ScanOnPush, _ = sc["scanOnPush"].(bool)
		reply(map[string]any{"repositoryName": name})
	case "PutImageTagMutability":
		f.repos[name].Mutability, _ = in["imageTagMutability"].(string)
		reply(map[string]any{"repositoryName": name})
	case "TagResource":
		arn, _ := in["resourceArn"].(string)
		r := f.repos[arn[strings.Index(arn, "repository/")+len("repository/"):]]
		for k, v := range tagMap(in["tags"]) {
			r.Tags[k] = v
		}
		reply(map[string]any{})
	case "DeleteRepository":
		if _, ok := f.repos[name]; !ok {
			awsError(w, "RepositoryNotFoundException", "missing")
			return
		}
		delete(f.repos, name)
		reply(map[string]any{"repository": map[string]any{"repositoryName": name}})
	case "DescribeImages":
		ids, _ := in["imageIds"].([]any)
		tag, _ := ids[0].(map[string]any)["imageTag"].(string)
		d, ok := f.images[name+":"+tag]
		if dg, _ := ids[0].(map[string]any)["imageDigest"].(string); dg != "" {
			ok = false
			for k, v := range f.images {
				if v == dg && strings.HasPrefix(k, name+":") {
					d, ok = v, true
				}
			}
		}
		if !ok {
			awsError(w, "ImageNotFoundException", "no image")
			return
		}
		reply(map[string]any{"imageDetails": []any{map[string]any{"repositoryName": name, "imageDigest": d, "imageTags": []string{tag}}}})
	default:
		awsError(w, "UnknownOperationException", op)
	}
}

func tagMap(v any) map[string]string {
	out := map[string]string{}
	list, _ := v.([]any)
	for _, t := range list {
		m, _ := t.(map[string]any)
		out[fmt.Sprint(m["Key"])] = fmt.Sprint(m["Value"])
	}
	return out
}
