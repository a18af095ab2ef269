"""Bring the real test node up or down by hand (hack/real-node/node.sh calls this).

node.sh cluster                 control plane + real node in the foreground; Ctrl-C stops both
node.sh up CONTROL_PLANE_DIR    join a running test control plane (its work dir), detach
node.sh down NODE_DIR           stop that node and undo every host change
node.sh import NODE_DIR IMAGE   import one more podman image into the node's containerd
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

import yaml

from .binaries import find_binaries
from .control_plane import ControlPlane
from .pki import load_pki
from .real_node import (
    ControlPlaneAccess,
    RealNode,
    RealNodeError,
    RealNodeUnavailable,
    build_kubelet,
    build_pause_image,
    pki_paths,
)

DEFAULT_IMAGES = ("localhost/mge-sandbox:0.1.0",)


def access_for(control_plane_dir: Path) -> ControlPlaneAccess:
    """How to reach the control plane whose work dir is ``control_plane_dir``."""
    kubeconfig = control_plane_dir / "admin.kubeconfig"
    if not kubeconfig.is_file():
        raise SystemExit(f"{kubeconfig} not found: give the work dir of a running control plane")
    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    return ControlPlaneAccess(str(server), load_pki(control_plane_dir / "pki"), kubeconfig)


def cordon_kwok_node(plane: ControlPlane) -> None:
    """Make the kwok node unschedulable so every new pod lands on the real node."""
    from kubernetes import client

    from .control_plane import NODE_NAME

    with plane.connect() as api:
        client.CoreV1Api(api).patch_node(NODE_NAME, {"spec": {"unschedulable": True}})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hack/real-node/node.sh",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cluster = sub.add_parser("cluster", help="control plane + real node until Ctrl-C")
    cluster.add_argument("--image", action="append", default=None, help="podman image to import")
    up = sub.add_parser("up", help="join a running test control plane")
    up.add_argument("control_plane_dir", type=Path)
    up.add_argument("--image", action="append", default=None, help="podman image to import")
    down = sub.add_parser("down", help="stop a node started with up")
    down.add_argument("node_dir", type=Path)
    imp = sub.add_parser("import", help="import podman images into the node's containerd")
    imp.add_argument("node_dir", type=Path)
    imp.add_argument("images", nargs="+")
    args = parser.parse_args(argv)

    try:
        if args.command == "down":
            node = RealNode.load(args.node_dir, pki_paths)  # its control plane may be gone
            left = node.down()
            for line in left:
                print(f"left behind: {line}", file=sys.stderr)
            print("node stopped; host clean" if not left else "node stopped; see above")
            return 1 if left else 0
        if args.command == "import":
            RealNode.load(args.node_dir, load_pki).import_images(args.images)
            return 0
        images = tuple(args.image) if args.image else DEFAULT_IMAGES
        kubelet, pause = build_kubelet(), build_pause_image()
        if args.command == "up":
            node = RealNode(access_for(args.control_plane_dir), kubelet, pause, images).up()
            print(f"node up in {node.phase_seconds}; stop it with:")
            print(f"  hack/real-node/node.sh down {node.work_dir}")
            return 0
        return _cluster(kubelet, pause, images)
    except (RealNodeUnavailable, RealNodeError) as error:
        print(f"real node: {error}", file=sys.stderr)
        return 1


def _cluster(kubelet: Path, pause: str, images: tuple[str, ...]) -> int:
    with ControlPlane(find_binaries()) as plane:
        cordon_kwok_node(plane)
        access = ControlPlaneAccess(plane.server, plane.pki, plane.kubeconfig)
        node = RealNode(access, kubelet, pause, images).up()
        try:
            print(f"control plane and real node up; export KUBECONFIG={plane.kubeconfig}")
            print("Ctrl-C (or SIGTERM) stops both", flush=True)
            # A shell's background job inherits SIGINT ignored: make Ctrl-C/SIGINT work anyway.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            left = node.down()
            for line in left:
                print(f"left behind: {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
