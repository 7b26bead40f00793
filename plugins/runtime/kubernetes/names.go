package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Labels rise puts on everything it writes.
const (
	LabelManagedBy  = "app.kubernetes.io/managed-by"
	LabelProject    = "rise.dev/project"
	LabelGroup      = "rise.dev/group"
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

// groupSep joins a project and a non-default group in host names (and in
// object names in a shared namespace). Project names containing it are
// refused (checkRequest), so <project>--<group> splits at its first "--"
// and no project's name is another project's group host.
const groupSep = "--"

// baseName is the project (plus the group unless it is the default group).
// In a namespace of its own a project's names need only differ from each
// other ("<project>-<group>"); in a shared namespace they must also differ
// from every other project's, hence the separator no project name has.
func (r *Runtime) baseName(project, group string) string {
	if g := groupOrDefault(group); g != "default" {
		if !r.perProjectNamespace() {
			return project + groupSep + g
		}
		return project + "-" + g
	}
	return project
}

// deploymentName names the Deployment (and its Secrets) of one deployment.
func (r *Runtime) deploymentName(project, group, id string) string {
	return safeName(r.baseName(project, group)+"-"+id, 52) // room for "-env"/"-pull" suffixes
}

// serviceName names a group's Service and Ingress (a DNS-1035 label).
func (r *Runtime) serviceName(project, group string) string {
	n := safeName(r.baseName(project, group), 63)
	if n[0] >= '0' && n[0] <= '9' {
		n = safeName("app-"+n, 63)
	}
	return n
}

// host is the app's host name: <project>.<domain> for the default group,
// <project>--<group>.<domain> for the others. A label too long for that is
// "0<hash>-<project prefix>": it starts with a digit, which no project name
// (so no other host) does.
func (r *Runtime) host(project, group string) string {
	return hostLabel(project, group) + "." + r.Domain
}

func hostLabel(project, group string) string {
	g := groupOrDefault(group)
	if g == "default" {
		return project
	}
	if l := project + groupSep + g; len(l) <= 63 {
		return l
	}
	sum := sha256.Sum256([]byte(project + "/" + g))
	l := "0" + hex.EncodeToString(sum[:])[:15] + "-" + project
	return strings.TrimRight(l[:min(len(l), 63)], "-")
}

func (r *Runtime) url(project, group string) string {
	return r.Scheme + "://" + r.host(project, group)
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
func (r *Runtime) deploymentLabels(project, group, id string) map[string]string {
	l := r.projectLabels(project, group)
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
