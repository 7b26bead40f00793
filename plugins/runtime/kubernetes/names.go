package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"

	"github.com/riseplatform/rise/sdk/apphost"
	corev1 "k8s.io/api/core/v1"
)

// Labels rise puts on everything it writes.
const (
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	LabelProject    = "rise.dev/project"
	LabelGroup      = "rise.dev/group"
	LabelEnv        = "rise.dev/environment"
	LabelDeployment = "rise.dev/deployment"
	managedBy       = "rise"

	// annotationDeploymentID keeps the unsanitised deployment id.
	annotationDeploymentID = "rise.dev/deployment-id"
	// annotationTarget on the Service names the deployment it routes to.
	annotationTarget = "rise.dev/serving"
)

func (r *Runtime) namespaceFor(project string) string {
	return strings.ReplaceAll(r.NamespaceFormat, "{project}", project)
}

// perProjectNamespace reports whether every project gets its own namespace.
func (r *Runtime) perProjectNamespace() bool {
	return strings.Contains(r.NamespaceFormat, "{project}")
}

func groupOrDefault(g string) string {
	if g == "" {
		return "default"
	}
	return g
}

// groupSep joins a project and the rest of an app host label
// (apphost.Sep) and, in a shared namespace, of object names. Project names
// containing it are refused (checkRequest), so no project's name is
// another project's environment or group host.
const groupSep = apphost.Sep

// baseName is the project, plus the target's host suffix (apphost: the
// environment, or the group's label) unless it is production's default
// group. In a namespace of its own a project's names need only differ from
// each other ("<project>-<suffix>"); in a shared namespace they must also
// differ from every other project's, hence the separator no project name
// has.
func (r *Runtime) baseName(t apphost.Target) string {
	if s := t.Suffix(); s != "" {
		if !r.perProjectNamespace() {
			return t.Project + groupSep + s
		}
		return t.Project + "-" + s
	}
	return t.Project
}

// deploymentName names the Deployment (and its Secrets) of one deployment.
func (r *Runtime) deploymentName(t apphost.Target, id string) string {
	return safeName(r.baseName(t)+"-"+id, 52) // room for "-env"/"-pull" suffixes
}

// serviceName names a target's Service and Ingress (a DNS-1035 label).
func (r *Runtime) serviceName(t apphost.Target) string {
	n := safeName(r.baseName(t), 63)
	if n[0] >= '0' && n[0] <= '9' {
		n = safeName("app-"+n, 63)
	}
	return n
}

// host is the app's host name, rise's one scheme (sdk/apphost):
// <project>.<domain> for production's default group,
// <project>--<environment>.<domain> and <project>--<group label>.<domain>
// for the others. Labels longer than 63 characters are refused
// (checkRequest), never shortened.
func (r *Runtime) host(t apphost.Target) string { return t.Host(r.Domain) }

func (r *Runtime) url(t apphost.Target) string {
	return r.Scheme + "://" + r.host(t)
}

// labelValue makes s a valid label value (≤63 chars of [a-z0-9A-Z._-]).
func labelValue(s string) string {
	ok := len(s) <= 63
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c == '-' || c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	if ok && (s == "" || isAlnum(s[0]) && isAlnum(s[len(s)-1])) {
		return s
	}
	return safeName(s, 63)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// safeName lower-cases s into a DNS-1123 label of at most max characters;
// when it had to shorten or change s, a hash of s keeps names distinct.
func safeName(s string, max int) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-")
	if n == s && len(n) <= max && n != "" {
		return n
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:4])
	if len(n) > max-len(h)-1 {
		n = strings.TrimRight(n[:max-len(h)-1], "-")
	}
	if n == "" {
		return "x" + h
	}
	return n + "-" + h
}

// ownsNamespace reports whether ns is one rise created for project (or,
// with a shared namespace, one handed to rise by labelling it managed-by
// rise). rise never adopts, relabels or deletes any other namespace.
func (r *Runtime) ownsNamespace(ns *corev1.Namespace, project string) bool {
	if ns.Labels[LabelManagedBy] != managedBy {
		return false
	}
	return !r.perProjectNamespace() || ns.Labels[LabelProject] == labelValue(project)
}

func (r *Runtime) projectLabelHint(project string) string {
	if !r.perProjectNamespace() {
		return ""
	}
	return fmt.Sprintf(" and %s=%s", LabelProject, labelValue(project))
}

// targetLabels are the labels of one target's objects (Service, Ingress).
func (r *Runtime) targetLabels(t apphost.Target) map[string]string {
	l := r.projectLabels(t.Project, t.GroupName())
	l[LabelEnv] = labelValue(t.Env())
	return l
}

// projectLabels are the labels of a project's shared objects.
func (r *Runtime) projectLabels(project, group string) map[string]string {
	l := make(map[string]string, len(r.Labels)+4)
	maps.Copy(l, r.Labels)
	l[LabelManagedBy] = managedBy
	l["app.kubernetes.io/name"] = labelValue(project)
	l[LabelProject] = labelValue(project)
	if group != "" {
		l[LabelGroup] = labelValue(groupOrDefault(group))
	}
	return l
}

// deploymentLabels are the labels of one deployment's objects and pods.
func (r *Runtime) deploymentLabels(t apphost.Target, id string) map[string]string {
	l := r.targetLabels(t)
	l[LabelDeployment] = labelValue(id)
	return l
}

// selector selects one deployment's pods.
func selector(project, group, id string) map[string]string {
	return map[string]string{
		LabelProject:    labelValue(project),
		LabelGroup:      labelValue(groupOrDefault(group)),
		LabelDeployment: labelValue(id),
	}
}

func (r *Runtime) annotations(extra map[string]string) map[string]string {
	if len(r.Annotations) == 0 && len(extra) == 0 {
		return nil
	}
	a := make(map[string]string, len(r.Annotations)+len(extra))
	maps.Copy(a, r.Annotations)
	maps.Copy(a, extra)
	return a
}
