#!/usr/bin/env python3
"""Checks contrib/kubernetes: every manifest validates strictly against the
Kubernetes API schemas (the kubernetes-validate package carries them), and
the StatefulSet keeps the promises docs/operations.md makes: readiness on
/ready, liveness on /health, GPU resources, Prometheus scrape annotations,
models.d from a ConfigMap with a reloader, a Service in front.

Run by CTest (tests/CMakeLists.txt) as: check_manifests.py DIR [K8S_VERSION]
Exit status 0 when everything holds; every problem is printed with its file.
"""
import sys
from pathlib import Path

import kubernetes_validate
import yaml

problems = []


def problem(where, what):
    problems.append(f"{where}: {what}")


def load_documents(folder):
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    documents = []
    for name in kustomization["resources"]:
        path = folder / name
        if not path.exists():
            problem("kustomization.yaml", f"resource {name} does not exist")
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append((name, document))
    listed = set(kustomization["resources"])
    for path in folder.glob("*.yaml"):
        if path.name != "kustomization.yaml" and path.name not in listed:
            problem("kustomization.yaml", f"{path.name} is not listed in resources")
    return documents


def validate_schemas(documents, version):
    for name, document in documents:
        where = f"{name}: {document.get('kind')}/{document.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            problem(where, f"{'.'.join(str(p) for p in e.path)}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            problem(where, e.message)


def probe_path(container, probe):
    return container.get(probe, {}).get("httpGet", {}).get("path")


def check_statefulset(documents):
    by_kind = {}
    for name, document in documents:
        by_kind.setdefault(document["kind"], []).append((name, document))
    sets = by_kind.get("StatefulSet", []) + by_kind.get("Deployment", [])
    if not sets:
        problem("contrib/kubernetes", "no StatefulSet or Deployment")
        return
    config_maps = {d["metadata"]["name"] for _, d in by_kind.get("ConfigMap", [])}
    for name, workload in sets:
        pod = workload["spec"]["template"]
        annotations = pod["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/scrape") != "true" or annotations.get("prometheus.io/path") != "/metrics":
            problem(name, "pod template lacks prometheus.io/scrape and prometheus.io/path: /metrics")
        containers = {c["name"]: c for c in pod["spec"]["containers"]}
        host = containers.get("citadel")
        if host is None:
            problem(name, "no container named citadel")
            continue
        if probe_path(host, "readinessProbe") != "/ready":
            problem(name, "citadel readinessProbe is not httpGet /ready")
        if probe_path(host, "livenessProbe") != "/health":
            problem(name, "citadel livenessProbe is not httpGet /health")
        if "nvidia.com/gpu" not in host.get("resources", {}).get("limits", {}):
            problem(name, "citadel asks for no nvidia.com/gpu")
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        for volume in volumes.values():
            if "configMap" in volume and volume["configMap"]["name"] not in config_maps:
                problem(name, f"volume {volume['name']} names ConfigMap {volume['configMap']['name']}, which no manifest defines")
        mounts = {m["mountPath"]: m["name"] for m in host.get("volumeMounts", [])}
        models_volume = next((v for path, v in mounts.items() if path.endswith("models.d")), None)
        if models_volume is None or "configMap" not in volumes.get(models_volume, {}):
            problem(name, "models.d is not mounted from a ConfigMap")
        reloaders = [c for c in containers.values() if c is not host and
                     any(m["name"] == models_volume for m in c.get("volumeMounts", []))]
        if not any("reload" in " ".join(c.get("args", []) + c.get("command", [])) for c in reloaders):
            problem(name, "no container reloads the host when models.d changes")
    selectors = [d["spec"].get("selector", {}) for _, d in by_kind.get("Service", [])]
    labels = sets[0][1]["spec"]["template"]["metadata"]["labels"]
    if not any(s and all(labels.get(k) == v for k, v in s.items()) for s in selectors):
        problem("contrib/kubernetes", "no Service selects the host pods")


def main():
    folder = Path(sys.argv[1])
    version = sys.argv[2] if len(sys.argv) > 2 else "1.30.0"
    documents = load_documents(folder)
    validate_schemas(documents, version)
    check_statefulset(documents)
    for line in problems:
        print(line)
    print(f"{len(documents)} manifests checked against Kubernetes {version}: "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
