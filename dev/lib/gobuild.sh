# Sourced by the dev/*/build.sh scripts: builds a Go command from the module
# proxy in a scratch module (GOFLAGS=-mod=mod) into a cache directory outside
# the repository, once, and prints the binary's path. Quiet on success; on
# failure it prints the end of the build log and exits 1.
#
#   gobuild NAME DIR CGO MAIN_PACKAGE MODULE@VERSION...
#
# NAME names the binary (DIR/NAME), CGO is CGO_ENABLED for the build, the
# MODULE@VERSION arguments are `go get` in order. A lock in DIR serializes
# concurrent builds of the same version (several test binaries at once).
gobuild() {
	local name="$1" dir="$2" cgo="$3" pkg="$4"
	shift 4
	local bin="$dir/$name" go="${GO:-go}"
	command -v "$go" >/dev/null 2>&1 || go=/usr/local/go/bin/go
	if [[ -x "$bin" ]]; then
		echo "$bin"
		return 0
	fi
	mkdir -p "$dir"
	exec 9>"$dir/.lock"
	flock 9
	if [[ -x "$bin" ]]; then
		echo "$bin"
		return 0
	fi
	# Global: the EXIT trap runs after this function's locals are gone.
	_gobuild_src="$(mktemp -d "$dir/build.XXXXXX")"
	trap 'rm -rf "$_gobuild_src"' EXIT
	local src="$_gobuild_src"
	# Every step is chained with &&: errexit does not apply inside a
	# subshell whose status is tested (a failed `go get` of the pinned
	# version would otherwise let `go mod tidy` build the latest one).
	(
		cd "$src" &&
			export GOFLAGS=-mod=mod GOWORK=off &&
			"$go" mod init "${name}build" &&
			for m in "$@"; do "$go" get "$m" || exit 1; done &&
			printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >tools.go &&
			"$go" mod tidy &&
			CGO_ENABLED="$cgo" "$go" build -trimpath -o "$src/$name" "$pkg"
	) >"$src/build.log" 2>&1 || {
		echo "$name build failed (log below)" >&2
		tail -n 40 "$src/build.log" >&2
		exit 1
	}
	mv "$src/$name" "$bin"
	echo "$bin"
}
