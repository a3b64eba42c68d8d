# Sourced by scripts/build-image.sh and scripts/install-e2e-tools.sh: Debian packages unpacked (dpkg -x) into a
# directory of their own, never installed (installing would start services such as etcd or dockerd on a machine
# other people use, and leave packages behind).

# debian_candidate PACKAGE: the version apt would download (empty when there is none).
debian_candidate() {
  apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)' || true
}

# debian_unpack DIR PACKAGE...: each package at its candidate version unpacked into DIR/root. DIR/.<package>.version
# stamps what is there, so a package already unpacked at the candidate version is not fetched again.
debian_unpack() {
  local dir=$1
  shift
  local pkg version tmp missing=()
  [ -n "$(debian_candidate "$1")" ] || apt-get update -qq
  for pkg in "$@"; do
    version=$(debian_candidate "$pkg")
    [ -n "$version" ] || { echo "Debian package $pkg is not available" >&2; return 1; }
    [ "$(cat "$dir/.$pkg.version" 2>/dev/null)" = "$version" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "unpacking Debian packages into $dir: ${missing[*]}" >&2
  tmp=$(mktemp -d /tmp/hostpath-csi-debs.XXXXXX)
  chmod 0755 "$tmp" # apt downloads as the _apt user
  (cd "$tmp" && apt-get download -qq "${missing[@]}")
  mkdir -p "$dir/root"
  for pkg in "${missing[@]}"; do
    dpkg -x "$tmp/${pkg}_"*.deb "$dir/root"
    debian_candidate "$pkg" > "$dir/.$pkg.version"
  done
  rm -rf "$tmp"
}
