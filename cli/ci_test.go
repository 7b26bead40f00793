package cli

import "testing"

// TestDetectCI uses the variables GitHub Actions and GitLab CI really set
// (names and value shapes from their documentation).
func TestDetectCI(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want ciInfo
	}{
		{"no CI", map[string]string{"CI": "true"}, ciInfo{}},
		{"github push", map[string]string{
			"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com",
			"GITHUB_REPOSITORY": "acme/shop", "GITHUB_RUN_ID": "1658821493", "GITHUB_REF": "refs/heads/main",
			"GITHUB_EVENT_NAME": "push",
		}, ciInfo{System: "github-actions", JobURL: "https://github.com/acme/shop/actions/runs/1658821493"}},
		{"github pull request", map[string]string{
			"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.example.com/", "GITHUB_REPOSITORY": "acme/shop",
			"GITHUB_RUN_ID": "42", "GITHUB_REF": "refs/pull/27/merge", "GITHUB_EVENT_NAME": "pull_request",
			"GITHUB_HEAD_REF": "feature-x", "GITHUB_BASE_REF": "main",
		}, ciInfo{System: "github-actions", JobURL: "https://github.example.com/acme/shop/actions/runs/42",
			PullRequestURL: "https://github.example.com/acme/shop/pull/27"}},
		{"github without server url", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "42"},
			ciInfo{System: "github-actions"}},
		{"gitlab branch pipeline", map[string]string{
			"CI": "true", "GITLAB_CI": "true", "CI_JOB_URL": "https://gitlab.example.com/acme/shop/-/jobs/8001",
			"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_REF_NAME": "main",
		}, ciInfo{System: "gitlab-ci", JobURL: "https://gitlab.example.com/acme/shop/-/jobs/8001"}},
		{"gitlab merge request pipeline", map[string]string{
			"CI": "true", "GITLAB_CI": "true", "CI_JOB_URL": "https://gitlab.example.com/acme/shop/-/jobs/8002",
			"CI_PIPELINE_SOURCE": "merge_request_event", "CI_MERGE_REQUEST_IID": "27",
			"CI_MERGE_REQUEST_PROJECT_URL":        "https://gitlab.example.com/acme/shop",
			"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature-x", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
		}, ciInfo{System: "gitlab-ci", JobURL: "https://gitlab.example.com/acme/shop/-/jobs/8002",
			PullRequestURL: "https://gitlab.example.com/acme/shop/-/merge_requests/27", Group: "mr/27"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := detectCI(func(k string) string { return c.env[k] }); got != c.want {
				t.Errorf("detectCI = %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestDeployRequestFromCI: in a GitLab merge request pipeline `rise deploy`
// defaults to group mr/<iid> with the preview expiry; flags win.
func TestDeployRequestFromCI(t *testing.T) {
	mr := ciInfo{System: "gitlab-ci", JobURL: "https://gitlab.example.com/j/1", PullRequestURL: "https://gitlab.example.com/mr/27", Group: "mr/27"}
	req, err := deployFlags{}.requestIn(nil, mr, func(string) string { return "" })
	if err != nil || req.Group != "mr/27" || req.Expire != "168h0m0s" || req.JobURL != mr.JobURL || req.PullRequestURL != mr.PullRequestURL {
		t.Fatalf("request = %+v, %v", req, err)
	}
	req, err = deployFlags{group: "feature", expire: "2h", jobURL: "https://ci.example.com/9"}.requestIn(nil, mr, func(k string) string {
		return map[string]string{"RISE_PREVIEW_EXPIRE": "1d"}[k]
	})
	if err != nil || req.Group != "feature" || req.Expire != "2h0m0s" || req.JobURL != "https://ci.example.com/9" {
		t.Fatalf("request with flags = %+v, %v", req, err)
	}
	req, err = deployFlags{}.requestIn(nil, mr, func(k string) string { return map[string]string{"RISE_PREVIEW_EXPIRE": "3d"}[k] })
	if err != nil || req.Expire != "72h0m0s" {
		t.Fatalf("RISE_PREVIEW_EXPIRE: %+v, %v", req, err)
	}
	if _, err := (deployFlags{from: "staging", image: "x"}).requestIn(nil, ciInfo{}, func(string) string { return "" }); err == nil {
		t.Error("--from with --image accepted")
	}
}
