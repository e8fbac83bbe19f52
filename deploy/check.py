"""`make deploy-check`: the Kubernetes manifests and the NATS configuration, offline.

Each kustomization under deploy/k8s is built with kubectl's own kustomize, and every object it
yields is validated strictly (an unknown field is an error): built-in kinds against the Kubernetes
API schemas bundled with kubernetes-validate, custom resources (KEDA ScaledObject, CloudNativePG
Cluster) against deploy/k8s/schemas. A kind with neither schema is an error, where
kubernetes-validate alone would only warn and pass. Then nats-server checks deploy/nats/nats.conf,
and every password that accounts.conf reads must be one deploy.secrets generates and one that
docker-compose.yml and the NATS Helm values hand to the server.
"""

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from deploy.secrets import shared_credentials

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = (K8S / "base", K8S / "overlays" / "production")
NATS_CONF = ROOT / "deploy" / "nats" / "nats.conf"
NATS_ACCOUNTS = ROOT / "deploy" / "nats" / "accounts.conf"
NATS_HELM_VALUES = K8S / "nats" / "values.yaml"
COMPOSE_FILE = ROOT / "docker-compose.yml"
CUSTOM_RESOURCE_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): K8S / "schemas" / "scaledobject.keda.sh-v1alpha1.json",
    ("postgresql.cnpg.io/v1", "Cluster"): K8S / "schemas" / "cluster.postgresql.cnpg.io-v1.json",
}
# The newest Kubernetes whose schemas kubernetes-validate bundles.
KUBERNETES_VERSION: str = kubernetes_validate.latest_version()

_PASSWORD_VARIABLE = re.compile(r"password:\s*\$([A-Z][A-Z0-9_]*)")
_VENV_BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    """A command from this virtualenv (pip-installed), else from PATH."""
    return shutil.which(name, path=str(_VENV_BIN)) or name


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    """The objects a kustomization renders."""
    built = subprocess.run(
        [_tool("kubectl"), "kustomize", str(directory)], check=True, capture_output=True, text=True
    )
    return [document for document in yaml.safe_load_all(built.stdout) if document]


def object_problems(obj: dict[str, Any]) -> list[str]:
    """Why an object is not valid for its kind (empty when it is)."""
    key = (str(obj.get("apiVersion")), str(obj.get("kind")))
    schema_path = CUSTOM_RESOURCE_SCHEMAS.get(key)
    if schema_path is not None:
        validator = jsonschema.Draft202012Validator(json.loads(schema_path.read_text()))
        return [
            f"{'.'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
            for error in validator.iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(str(part) for part in error.path) or '(root)'}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema for {key[0]} {key[1]}: add one to deploy/k8s/schemas"]
    return []


def check_kustomization(directory: Path) -> list[str]:
    """Problems of every object a kustomization renders; prints what was checked."""
    objects = kustomize_build(directory)
    problems = [
        f"{directory.relative_to(ROOT)}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')}: {problem}"
        for obj in objects
        for problem in object_problems(obj)
    ]
    kinds = Counter(str(obj.get("kind")) for obj in objects)
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(f"{directory.relative_to(ROOT)}: {len(objects)} objects ({summary})")
    return problems


def nats_password_variables() -> set[str]:
    """The environment variables accounts.conf takes passwords from."""
    return set(_PASSWORD_VARIABLE.findall(NATS_ACCOUNTS.read_text()))


def nats_config_problems() -> list[str]:
    """nats-server's verdict on nats.conf, and passwords every deployment hands to the server."""
    variables = nats_password_variables()
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    helm_values = yaml.safe_load(NATS_HELM_VALUES.read_text())
    handed = {
        "deploy.secrets": set(shared_credentials()),
        "docker-compose.yml (service nats)": set(compose["services"]["nats"]["environment"]),
        "deploy/k8s/nats/values.yaml": set(helm_values["container"]["env"]),
    }
    problems = [
        f"{where} does not provide {', '.join(sorted(variables - names))} (read by accounts.conf)"
        for where, names in handed.items()
        if variables - names
    ]
    tested = subprocess.run(
        [_tool("nats-server"), "-t", "-c", str(NATS_CONF)],
        env={name: "deploy-check" for name in variables},
        capture_output=True,
        text=True,
    )
    if tested.returncode != 0:
        problems.append(f"nats-server refuses {NATS_CONF.relative_to(ROOT)}: {tested.stderr.strip()}")
    else:
        print(f"{NATS_CONF.relative_to(ROOT)}: valid for nats-server, {len(variables)} users")
    return problems


def main() -> int:
    """Check everything; print each problem; exit 1 if there is any."""
    problems = [problem for directory in KUSTOMIZATIONS for problem in check_kustomization(directory)]
    problems += nats_config_problems()
    for problem in problems:
        print(f"ERROR {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
