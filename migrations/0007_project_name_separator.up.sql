-- 0007: project names never contain "--", the separator of app hosts
-- <project>--<group-or-environment>.<domain>, so no project name can produce
-- another project's host. NOT VALID: projects created before this rule keep
-- their names; every new or renamed project is checked.
ALTER TABLE projects ADD CONSTRAINT projects_name_no_separator CHECK (name NOT LIKE '%--%') NOT VALID;
