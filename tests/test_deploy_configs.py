"""The deployment files under deploy/ (docs/scaling.md), checked as far as a machine without Docker or Kubernetes
can: Dagster's own instance-config validation, the run launchers' and storages' config schemas (with the
optional `deploy` dependency group: `uv sync --group deploy`), the Kubernetes client's models, and what the
files must agree on: one volume for the build database, pools that keep one writer, the same image and env."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster._config import process_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
POSTGRES_ENV = {"DAGSTER_POSTGRES_DB": "dagster", "DAGSTER_POSTGRES_USER": "dagster",
                "DAGSTER_POSTGRES_PASSWORD": "secret"}
VOLUME_MOUNT = "/data"


def _yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _pools(config: dict) -> dict:
    return config["concurrency"]["pools"]


# -- deploy/dagster.yaml: the local instance --------------------------------------------------------------------


def test_local_instance_config_is_valid_and_keeps_one_writer():
    config, custom_class = dagster_instance_config(str(DEPLOY))
    assert custom_class is None
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert _pools(config) == {"default_limit": 1, "granularity": "op"}


def test_instance_validation_rejects_a_misspelt_section(tmp_path):
    """Not vacuous: the validator used above refuses what Dagster would refuse."""
    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text().replace("default_limit", "defaultLimit"))
    with pytest.raises(DagsterInvalidConfigError):
        dagster_instance_config(str(tmp_path))


def test_local_instance_writes_its_storage_under_dagster_home_not_the_current_folder(tmp_path):
    """A relative sqlite base_dir resolves against the current folder: that is how a history/ got committed."""
    home, elsewhere = tmp_path / "dagster_home", tmp_path / "checkout"
    home.mkdir()
    elsewhere.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    code = ("import dagster as dg; i = dg.DagsterInstance.get(); "
            "print(i.event_log_storage.supports_global_concurrency_limits)")
    done = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DAGSTER_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True"  # pools can be enforced by this storage
    assert list(elsewhere.iterdir()) == []
    assert (home / "history").is_dir()


def test_pools_script_sets_both_pools():
    text = (DEPLOY / "pools.sh").read_text()
    assert 'dagster instance concurrency set cbs_requests "${REGIOSTAT_CBS_REQUESTS:-2}"' in text
    assert "dagster instance concurrency set duckdb_writer 1" in text


# -- deploy/docker --------------------------------------------------------------------------------------------


@pytest.fixture
def docker_instance(monkeypatch) -> dict:
    for key, value in POSTGRES_ENV.items():
        monkeypatch.setenv(key, value)
    config, _ = dagster_instance_config(str(DEPLOY / "docker"))
    return config


def test_docker_instance_config_is_valid(docker_instance):
    assert set(docker_instance["storage"]) == {"postgres"}
    assert docker_instance["run_launcher"]["class"] == "DockerRunLauncher"
    assert _pools(docker_instance)["default_limit"] == 1 and _pools(docker_instance)["granularity"] == "op"


def test_docker_run_launcher_and_postgres_storage_accept_their_config(docker_instance):
    dagster_docker = pytest.importorskip("dagster_docker", reason="the deploy group: uv sync --group deploy")
    dagster_postgres = pytest.importorskip("dagster_postgres", reason="the deploy group: uv sync --group deploy")
    launcher = docker_instance["run_launcher"]
    checked = process_config(dagster_docker.DockerRunLauncher.config_type(), launcher["config"])
    assert checked.success, checked.errors
    built = dagster_docker.DockerRunLauncher(**checked.value)  # builds without a Docker daemon; connects on launch
    assert built.networks == ["regiostat"]
    storage = process_config(dagster_postgres.DagsterPostgresStorage.config_type(), docker_instance["storage"]["postgres"])
    assert storage.success, storage.errors


def test_compose_file_wires_one_image_one_data_volume_and_the_instance(docker_instance):
    compose = _yaml(DEPLOY / "docker" / "docker-compose.yaml")
    services = compose["services"]
    assert {"postgres", "regiostat_code", "webserver", "daemon", "pools"} <= set(services)
    image = services["regiostat_code"]["image"]
    assert {services[s]["image"] for s in ("webserver", "daemon", "pools")} == {image}
    assert services["regiostat_code"]["environment"]["DAGSTER_CURRENT_IMAGE"] == image  # what each run starts from
    assert services["regiostat_code"]["build"] == {"context": "../..", "dockerfile": "deploy/docker/Dockerfile"}
    launcher = docker_instance["run_launcher"]["config"]
    # run containers mount the very volume the code location's sensors read, on the compose network
    assert launcher["container_kwargs"]["volumes"] == [f"{compose['volumes']['regiostat-data']['name']}:{VOLUME_MOUNT}"]
    assert f"regiostat-data:{VOLUME_MOUNT}" in services["regiostat_code"]["volumes"]
    assert launcher["network"] == compose["networks"]["regiostat"]["name"]
    env = services["regiostat_code"]["environment"]
    assert env["REGIOSTAT_PUBLISH_PATH"].startswith(VOLUME_MOUNT) and env["REGIOSTAT_HOME"].startswith(VOLUME_MOUNT)
    assert set(launcher["env_vars"]) >= {k for k in env if k.startswith(("REGIOSTAT_", "DAGSTER_POSTGRES_"))}
    for service in ("webserver", "daemon"):
        assert "/var/run/docker.sock:/var/run/docker.sock" in services[service]["volumes"]
    assert services["pools"]["entrypoint"][-1].endswith("deploy/pools.sh")
    workspace = _yaml(DEPLOY / "docker" / "workspace.yaml")["load_from"][0]["grpc_server"]
    assert workspace["host"] == "regiostat_code"
    assert str(workspace["port"]) in services["regiostat_code"].get("expose", ["4000"]) or workspace["port"] == 4000


def test_dockerfile_installs_from_the_lock_with_the_deploy_group_and_serves_the_definitions():
    text = (DEPLOY / "docker" / "Dockerfile").read_text()
    syncs = [line for line in text.splitlines() if line.startswith("RUN uv sync")]
    assert syncs and all("--locked" in s and "--no-dev" in s and "--group deploy" in s for s in syncs)
    assert "COPY pyproject.toml uv.lock" in text
    assert '"-m", "pipelines.definitions", "-a", "defs"' in text
    for folder in ("regiostat", "pipelines", "assets", "schemas", "config", "data", "warehouse/schema.sql"):
        assert f"COPY {folder} " in text, folder
    assert "COPY deploy/docker/dagster.yaml" in text


def test_deploy_group_pins_dagster_libraries_to_the_core_version():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    core = next(d for d in project["project"]["dependencies"] if d.startswith("dagster=="))
    library = next(d for d in project["project"]["dependencies"] if d.startswith("dagster-duckdb=="))
    group = project["dependency-groups"]["deploy"]
    assert sorted(g.split("==")[0] for g in group) == ["dagster-docker", "dagster-k8s", "dagster-postgres"]
    assert {g.split("==")[1] for g in group} == {library.split("==")[1]}, (core, group)
    assert not any(d.startswith(("dagster-docker", "dagster-k8s", "dagster-postgres"))
                   for d in project["project"]["dependencies"])  # not in the default install


# -- deploy/k8s -----------------------------------------------------------------------------------------------


def _k8s_launcher_config(values: dict) -> dict:
    """runLauncher.config.k8sRunLauncher as the dagster chart's template renders it into dagster.yaml."""
    v = values["runLauncher"]["config"]["k8sRunLauncher"]
    run_k8s = v.get("runK8sConfig", {})
    return {
        "load_incluster_config": v["loadInclusterConfig"], "job_namespace": "regiostat",
        "image_pull_policy": v["imagePullPolicy"], "service_account_name": "regiostat-dagster",
        "dagster_home": "/opt/dagster/dagster_home", "instance_config_map": "regiostat-dagster-instance",
        "postgres_password_secret": "regiostat-postgresql-secret",
        "env_config_maps": ["regiostat-dagster-pipeline-env"] + [c["name"] for c in v["envConfigMaps"]],
        "env_secrets": [s["name"] for s in v["envSecrets"]], "env_vars": v["envVars"],
        "volume_mounts": v["volumeMounts"], "volumes": v["volumes"],
        "fail_pod_on_run_failure": v["failPodOnRunFailure"],
        "run_k8s_config": {"container_config": run_k8s.get("containerConfig", {}),
                           "pod_spec_config": run_k8s.get("podSpecConfig", {})},
    }


def _k8s_object(kind: str, manifest: dict):
    """The Kubernetes client's model of a manifest written as YAML (camelCase), refusing keys it does not know."""
    from dagster_k8s.models import k8s_model_from_dict, k8s_snake_case_dict
    from kubernetes import client

    model = getattr(client, kind)
    return k8s_model_from_dict(model, k8s_snake_case_dict(model, manifest))


def test_k8s_values_run_launcher_config_is_valid_for_dagster_k8s():
    dagster_k8s = pytest.importorskip("dagster_k8s", reason="the deploy group: uv sync --group deploy")

    values = _yaml(DEPLOY / "k8s" / "values.yaml")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    checked = process_config(dagster_k8s.K8sRunLauncher.config_type(), _k8s_launcher_config(values))
    assert checked.success, checked.errors
    deployment = values["dagster-user-deployments"]["deployments"][0]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    for volume in deployment["volumes"] + launcher["volumes"]:
        assert _k8s_object("V1Volume", volume).persistent_volume_claim.claim_name == "regiostat-data"
    for mount in deployment["volumeMounts"] + launcher["volumeMounts"]:
        _k8s_object("V1VolumeMount", mount)
    _k8s_object("V1ResourceRequirements", deployment["resources"])
    _k8s_object("V1PodSpec", {"containers": [], **launcher["runK8sConfig"]["podSpecConfig"]})
    _k8s_object("V1Container", {"name": "run", **launcher["runK8sConfig"]["containerConfig"]})
    for env in deployment["env"]:
        _k8s_object("V1EnvVar", env)
    with pytest.raises(Exception, match="Unexpected keys"):  # not vacuous: a misspelt key is refused
        _k8s_object("V1Volume", {"name": "x", "persistentVolumeClaims": {"claimName": "y"}})


def test_k8s_build_volume_is_a_valid_claim_that_every_pod_mounts_on_one_node():
    claim = _yaml(DEPLOY / "k8s" / "build-volume.yaml")
    assert claim["kind"] == "PersistentVolumeClaim" and claim["apiVersion"] == "v1"
    values = _yaml(DEPLOY / "k8s" / "values.yaml")
    deployment = values["dagster-user-deployments"]["deployments"][0]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    name = claim["metadata"]["name"]
    for volumes in (deployment["volumes"], launcher["volumes"]):
        assert [v["persistentVolumeClaim"]["claimName"] for v in volumes] == [name]
    for mounts in (deployment["volumeMounts"], launcher["volumeMounts"]):
        assert [m["mountPath"] for m in mounts] == [VOLUME_MOUNT]
    # ReadWriteOnce: the code location and every run pod on the same node
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert deployment["nodeSelector"] == launcher["runK8sConfig"]["podSpecConfig"]["nodeSelector"]
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env["REGIOSTAT_HOME"].startswith(VOLUME_MOUNT) and env["REGIOSTAT_PUBLISH_PATH"].startswith(VOLUME_MOUNT)
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True  # runs get the same env
    assert deployment["codeServerArgs"] == ["--module-name", "pipelines.definitions", "--attribute", "defs"]
    try:
        import dagster_k8s  # noqa: F401  (the deploy group)
    except ImportError:
        return
    assert _k8s_object("V1PersistentVolumeClaim", claim).spec.access_modes == ["ReadWriteOnce"]


def test_k8s_values_limit_pools_across_runs():
    values = _yaml(DEPLOY / "k8s" / "values.yaml")
    concurrency = values["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["pools"] == {"defaultLimit": 1, "granularity": "op"}
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    # the chart refuses maxConcurrentRuns in both places
    assert "maxConcurrentRuns" not in values["dagsterDaemon"]["runCoordinator"].get("config", {}).get(
        "queuedRunCoordinator", {})
    local, _ = dagster_instance_config(str(DEPLOY))
    assert concurrency["pools"]["defaultLimit"] == _pools(local)["default_limit"]
