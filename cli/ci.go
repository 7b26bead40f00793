package cli

import (
	"regexp"
	"strings"
)

// ciInfo is what `rise deploy` learns from the CI system it runs in.
type ciInfo struct {
	System         string // "github-actions", "gitlab-ci" or ""
	JobURL         string
	PullRequestURL string
	// Group is the preview group a merge request pipeline deploys to by
	// default (GitLab: mr/<iid>); "" outside one.
	Group string
}

// defaultPreviewExpire is how long previews that `rise deploy` starts in a
// merge request pipeline live when neither --expire nor
// RISE_PREVIEW_EXPIRE says otherwise.
const defaultPreviewExpire = "7d"

var githubPullRef = regexp.MustCompile(`^refs/pull/([0-9]+)/(merge|head)$`)

// detectCI reads the CI system's own variables (getenv is os.Getenv):
// GitHub Actions (GITHUB_ACTIONS, GITHUB_SERVER_URL, GITHUB_REPOSITORY,
// GITHUB_RUN_ID, GITHUB_REF of pull_request events) and GitLab CI
// (GITLAB_CI, CI_JOB_URL, CI_MERGE_REQUEST_IID,
// CI_MERGE_REQUEST_PROJECT_URL).
func detectCI(getenv func(string) string) ciInfo {
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		ci := ciInfo{System: "github-actions"}
		server, repo := strings.TrimRight(getenv("GITHUB_SERVER_URL"), "/"), getenv("GITHUB_REPOSITORY")
		if server == "" || repo == "" {
			return ci
		}
		if run := getenv("GITHUB_RUN_ID"); run != "" {
			ci.JobURL = server + "/" + repo + "/actions/runs/" + run
		}
		if m := githubPullRef.FindStringSubmatch(getenv("GITHUB_REF")); m != nil {
			ci.PullRequestURL = server + "/" + repo + "/pull/" + m[1]
		}
		return ci
	case getenv("GITLAB_CI") == "true":
		ci := ciInfo{System: "gitlab-ci", JobURL: getenv("CI_JOB_URL")}
		if iid := getenv("CI_MERGE_REQUEST_IID"); iid != "" {
			ci.Group = "mr/" + iid
			if u := strings.TrimRight(getenv("CI_MERGE_REQUEST_PROJECT_URL"), "/"); u != "" {
				ci.PullRequestURL = u + "/-/merge_requests/" + iid
			}
		}
		return ci
	}
	return ciInfo{}
}
