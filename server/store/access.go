package store

import "github.com/riseplatform/rise/server/identity"

// Access is what a caller wants to do with a project.
type Access int

// Access levels, checked by ProjectFor.
const (
	AccessRead   Access = iota // see it, its deployments and logs
	AccessWrite                // change its settings
	AccessDeploy               // create, stop and roll back deployments
	AccessDelete               // delete it
)

func (a Access) String() string {
	switch a {
	case AccessRead:
		return "read"
	case AccessWrite:
		return "write"
	case AccessDeploy:
		return "deploy"
	case AccessDelete:
		return "delete"
	}
	return "unknown"
}

// Permissions is the set of accesses a caller has on one project.
type Permissions uint8

// Can reports whether p includes a.
func (p Permissions) Can(a Access) bool { return p&(1<<a) != 0 }

func perms(as ...Access) Permissions {
	var p Permissions
	for _, a := range as {
		p |= 1 << a
	}
	return p
}

// The authorization rule for projects, in one place:
//   - admins may do everything;
//   - the owner user may do everything;
//   - members of the owner team may read, write and deploy; the team's
//     owners may also delete;
//   - a service account may read and deploy its own project, nothing else;
//   - anyone else has no access, and the project looks missing to them.
func permissionsFor(id *identity.Identity, p *Project, teamRole string) Permissions {
	switch {
	case id == nil:
		return 0
	case id.IsServiceAccount():
		if id.ServiceAccount.ProjectID == p.ID || (id.ServiceAccount.ProjectID == "" && id.ServiceAccount.Project == p.Name) {
			return perms(AccessRead, AccessDeploy)
		}
		return 0
	case id.Admin:
		return perms(AccessRead, AccessWrite, AccessDeploy, AccessDelete)
	case id.UserID != "" && p.OwnerUserID != nil && *p.OwnerUserID == id.UserID:
		return perms(AccessRead, AccessWrite, AccessDeploy, AccessDelete)
	case teamRole == RoleOwner:
		return perms(AccessRead, AccessWrite, AccessDeploy, AccessDelete)
	case teamRole == RoleMember:
		return perms(AccessRead, AccessWrite, AccessDeploy)
	}
	return 0
}
