# Sourced by the image scripts: buildah and podman keep their storage in a temporary
# directory, and this removes it without leaving a mount behind (the overlay driver
# bind-mounts its own directory and mounts each container's layers).
storage_remove() {
  local dir=$1 mounts
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  # Deepest first, so a parent mount is never busy because of a child.
  mounts=$(findmnt -rn -o TARGET | grep -F "$dir/" | sort -r || true)
  for m in $mounts; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
  rm -rf "$dir"
}
