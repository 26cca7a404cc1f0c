#!/bin/sh
# Install the real container tools the integration tests run against (tests/integration/).
#
# Idempotent: packages already present are left alone. Debian 12 (bookworm) / Ubuntu packages:
#   buildah         builds the test images (--storage-driver vfs --isolation chroot: no engine,
#                   no fuse-overlayfs, no user namespaces needed when run as root)
#   skopeo          exports them (oci:, docker-archive:) and pushes them (docker://)
#   umoci           unpacks/inspects OCI layouts (cross-checks)
#   docker-registry the distribution registry; the tests start their own on a loopback port
#   busybox-static  a static /bin/busybox to build a tiny root filesystem from
# The registry package ships a system service; it is stopped and disabled here so that nothing
# listens on port 5000 behind the tests' back (the tests start and stop their own).
set -eu

PACKAGES="buildah skopeo umoci docker-registry busybox-static uidmap"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -n "$missing" ]; then
    echo "installing:$missing"
    # Keep the package's service from starting on install (policy-rc.d is honoured by
    # invoke-rc.d; on systemd hosts the unit is also disabled below).
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod +x "$policy"
        created_policy=1
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
    if [ "$created_policy" -eq 1 ]; then
        $SUDO rm -f "$policy"
    fi
else
    echo "all of: $PACKAGES already installed"
fi

# Never run the registry as a system service.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
elif [ -x /etc/init.d/docker-registry ]; then
    $SUDO /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
fi

for tool in buildah skopeo umoci docker-registry busybox; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing after install: $tool" >&2; exit 1; }
done
buildah --version
skopeo --version
umoci --version
