"""The Lambda bundle: what it holds, that it is reproducible, and that the function runs from it alone."""

from __future__ import annotations

import io
import json
import logging
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.sns.models import sns_backends
from PIL import Image

from infra import bundle as bundle_module
from infra.bundle import (
    EXCLUDED_SOURCES,
    REPO_ROOT,
    Bundle,
    BundleError,
    build_bundle,
    describe,
    find_interpreter,
)

REGION = "us-east-1"
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}
CONSTRAINTS = REPO_ROOT / "requirements" / "constraints.txt"
PY_TAG = "313"  # the bundles here are built for Python 3.13
EXTENSION_TAGS = {"arm64": "cpython-313-aarch64-linux-gnu", "x86_64": "cpython-313-x86_64-linux-gnu"}
HOST_ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
    platform.machine().lower()
)
# Top-level folders the bundle must never carry: they are for deploying, testing or the local mode.
# (PIL and numpy are carried: the reference detector and evidence images; so is the SDK.)
FORBIDDEN_FOLDERS = ("pulumi", "pulumi_aws", "yaml", "moto", "tests", "infra")
# The runtime's SDK in the clean-interpreter run: one from before S3's conditional writes (August 2024),
# as an older Lambda runtime image may still carry. The bundle's own must win over it.
OLD_SDK = ("boto3==1.34.162", "botocore==1.34.162")


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lambda")


@pytest.fixture(scope="module")
def bundles(out_dir: Path) -> dict[str, Bundle]:
    return {arch: build_bundle(architecture=arch, out_dir=out_dir) for arch in EXTENSION_TAGS}


def names(bundle: Bundle) -> list[str]:
    with zipfile.ZipFile(bundle.path) as archive:
        return archive.namelist()


@pytest.mark.parametrize("architecture", list(EXTENSION_TAGS))
def test_the_bundle_holds_the_handler_the_library_and_pydantic_built_for_its_architecture(
    bundles: dict[str, Bundle], architecture: str
) -> None:
    bundle = bundles[architecture]
    expected = {
        "handler/__init__.py",
        "inspector/__init__.py",
        "inspector/pipeline.py",
        "inspector/detectors/rekognition.py",
        "inspector/py.typed",
        "pydantic/__init__.py",
        "anyascii/__init__.py",  # email subjects that keep a CJK name (inspector/notification.py)
        f"pydantic_core/_pydantic_core.{EXTENSION_TAGS[architecture]}.so",
        "inspector/reference/detector.py",
        "inspector/evidence/__init__.py",
        "numpy/__init__.py",
        f"numpy/_core/_multiarray_umath.{EXTENSION_TAGS[architecture]}.so",
        "PIL/Image.py",
        f"PIL/_imaging.{EXTENSION_TAGS[architecture]}.so",
    }

    assert set() == expected - set(names(bundle))
    assert f"inspector-lambda-{architecture}-py3.13.zip" == bundle.path.name
    assert (architecture, "3.13") == (bundle.architecture, bundle.python_version)


@pytest.mark.parametrize("architecture", list(EXTENSION_TAGS))
def test_the_bundle_leaves_out_what_the_function_does_not_need(
    bundles: dict[str, Bundle], architecture: str
) -> None:
    unwanted = [
        name
        for name in names(bundles[architecture])
        if name.split("/")[0] in FORBIDDEN_FOLDERS
        or name in EXCLUDED_SOURCES
        or (name.endswith(".pyc") and not name.endswith(f".cpython-{PY_TAG}.pyc"))
        or name.startswith("bin/")
    ]

    assert [] == unwanted
    assert {"inspector/cli.py", "inspector/testing.py", "inspector/reference/synthetic.py"} <= set(
        EXCLUDED_SOURCES
    )


@pytest.mark.skipif(find_interpreter("3.13") is None, reason="no Python 3.13 on this machine to compile with")
@pytest.mark.parametrize("architecture", list(EXTENSION_TAGS))
def test_every_module_ships_with_bytecode_for_the_functions_python(
    bundles: dict[str, Bundle], architecture: str
) -> None:
    # Lambda's code directory is read-only: without these, every cold start compiles every module again.
    bundle = bundles[architecture]
    shipped = set(names(bundle))
    modules = [n for n in shipped if n.endswith(".py")]

    missing = [
        n
        for n in modules
        if f"{n.rsplit('/', 1)[0] + '/' if '/' in n else ''}__pycache__/"
        f"{n.rsplit('/', 1)[-1].removesuffix('.py')}.cpython-{PY_TAG}.pyc" not in shipped
    ]
    assert bundle.compiled
    assert [] == missing
    with zipfile.ZipFile(bundle.path) as archive:
        header = archive.read(f"inspector/__pycache__/function.cpython-{PY_TAG}.pyc")[:16]
    assert 0b01 == int.from_bytes(header[4:8], "little") & 0b11  # hash-based and unchecked: no mtime


@pytest.mark.parametrize("architecture", list(EXTENSION_TAGS))
def test_the_bundle_carries_only_the_modules_the_handler_can_import(
    bundles: dict[str, Bundle], architecture: str
) -> None:
    ours = sorted(n for n in names(bundles[architecture]) if n.split("/")[0] in {"handler", "inspector"})

    # Not reachable from the handler: the command line, the local mode, the deployment model, samples.
    for absent in (
        "inspector/local.py",
        "inspector/deployment.py",
        "inspector/commands/__init__.py",
        "inspector/reference/synthetic.py",  # the widget generator: benchmarks and demo only
    ):
        assert absent not in ours
    assert [] == [n for n in ours if n.startswith(("inspector/samples/", "inspector/commands/"))]
    assert {"handler/__init__.py", "inspector/function.py", "inspector/detectors/rekognition.py"} <= set(ours)


@pytest.mark.parametrize("architecture", list(EXTENSION_TAGS))
def test_the_bundle_carries_the_sdk_the_tests_ran_with_and_only_the_models_the_function_uses(
    bundles: dict[str, Bundle], architecture: str
) -> None:
    shipped = names(bundles[architecture])
    with zipfile.ZipFile(bundles[architecture].path) as archive:
        versions = {
            package: re.search(
                r"^__version__ = '([^']+)'", archive.read(f"{package}/__init__.py").decode(), re.M
            )
            for package in ("boto3", "botocore")
        }
    pinned = {
        package: re.search(rf"^{package}==(\S+)$", CONSTRAINTS.read_text(encoding="utf-8"), re.M)
        for package in ("boto3", "botocore")
    }
    models = {n.split("/")[2] for n in shipped if n.startswith("botocore/data/") and n.count("/") >= 3}

    assert {p: m[1] for p, m in pinned.items() if m} == {p: m[1] for p, m in versions.items() if m}
    assert {"athena", "rekognition", "s3", "sns", "sts"} == models == set(bundles[architecture].sdk_services)
    assert {"botocore/data/endpoints.json", "botocore/data/partitions.json"} <= set(shipped)


def test_a_client_for_a_new_service_in_the_sources_keeps_its_model(tmp_path: Path) -> None:
    source = tmp_path / "digest.py"
    source.write_text(
        'import boto3\ndef run():\n    return boto3.client("athena"), make_client("glue", region="x")\n'
    )
    deps = tmp_path / "deps"
    for service in ("athena", "glue", "s3", "sts", "ec2"):
        (deps / "botocore" / "data" / service).mkdir(parents=True)

    assert {"athena", "glue", "sts"} == bundle_module.sdk_services({"inspector/digest.py": source}, deps)


def test_every_excluded_source_exists_so_the_list_cannot_silently_go_stale() -> None:
    missing = [name for name in EXCLUDED_SOURCES if not (REPO_ROOT / name).is_file()]

    assert [] == missing


@pytest.mark.parametrize("architecture", list(EXTENSION_TAGS))
def test_the_bundle_carries_pydantic_2_at_the_pinned_version(
    bundles: dict[str, Bundle], architecture: str
) -> None:
    with zipfile.ZipFile(bundles[architecture].path) as archive:
        version_file = archive.read("pydantic/version.py").decode()
    found = re.search(r"^VERSION = '([^']+)'", version_file, re.MULTILINE)
    pinned = re.search(r"^pydantic==(\S+)$", CONSTRAINTS.read_text(encoding="utf-8"), re.MULTILINE)

    assert found is not None
    assert pinned is not None
    assert pinned[1] == found[1]
    assert "2" == found[1].split(".")[0]


def test_two_builds_in_different_directories_are_byte_identical(
    bundles: dict[str, Bundle], tmp_path: Path
) -> None:
    again = build_bundle(architecture="arm64", out_dir=tmp_path)

    assert bundles["arm64"].sha256 == again.sha256
    assert bundles["arm64"].path.read_bytes() == again.path.read_bytes()
    assert bundles["arm64"].sha256 != bundles["x86_64"].sha256


def test_a_second_build_reuses_the_cached_dependency_install(
    bundles: dict[str, Bundle], out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pip(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("pip ran although the install was cached")

    monkeypatch.setattr(bundle_module, "_install_dependencies", no_pip)

    again = build_bundle(architecture="x86_64", out_dir=out_dir)

    assert bundles["x86_64"].sha256 == again.sha256


@pytest.mark.parametrize("architecture", list(EXTENSION_TAGS))
def test_every_entry_has_a_fixed_timestamp_and_mode_in_path_order(
    bundles: dict[str, Bundle], architecture: str
) -> None:
    with zipfile.ZipFile(bundles[architecture].path) as archive:
        infos = archive.infolist()
    odd = [
        info.filename
        for info in infos
        if info.date_time != (1980, 1, 1, 0, 0, 0)
        or info.external_attr >> 16 != 0o100644
        or info.compress_type != zipfile.ZIP_DEFLATED
        or info.is_dir()
    ]

    assert [] == odd
    assert sorted(info.filename for info in infos) == [info.filename for info in infos]


@pytest.mark.parametrize("architecture", list(EXTENSION_TAGS))
def test_the_bundle_is_small(bundles: dict[str, Bundle], architecture: str) -> None:
    bundle = bundles[architecture]
    print(describe(bundle))

    assert bundle.path.stat().st_size == bundle.size
    # numpy and Pillow make up most of it (~30 MB zipped in all): under Lambda's 50 MB direct upload.
    assert bundle.size < 45_000_000
    pattern = rf"{re.escape(bundle.path.name)}: [\d.]+ MB \([\d.]+ MB unzipped\), \d+ files, "
    pattern += rf"(with|without) bytecode, sha256 {bundle.sha256[:12]}…"
    assert re.fullmatch(pattern, describe(bundle))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"architecture": "aarch64"}, "not a Lambda architecture", id="aarch64-is-not-lambdas-name"
        ),
        pytest.param(
            {"architecture": "ARM64"}, "not a Lambda architecture", id="architecture-is-case-sensitive"
        ),
        pytest.param({"python_version": "3.13.0"}, "major.minor", id="patch-version"),
        pytest.param({"python_version": "3.10"}, "3.11 or later", id="too-old-for-the-library"),
        pytest.param({"python_version": "py3.13"}, "major.minor", id="not-a-version"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_built(
    kwargs: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(BundleError, match=re.escape(message)):
        build_bundle(out_dir=tmp_path, **kwargs)

    assert [] == list(tmp_path.iterdir())


def fake_repo(root: Path, *, handler_source: str, constraints: str) -> Path:
    (root / "handler").mkdir(parents=True)
    (root / "handler" / "__init__.py").write_text(handler_source)
    (root / "inspector").mkdir()
    (root / "inspector" / "__init__.py").write_text("")
    (root / "inspector" / "testing.py").write_text("")
    (root / "requirements").mkdir()
    (root / "requirements" / "constraints.txt").write_text(constraints)
    return root


def test_a_module_level_import_of_a_left_out_module_is_refused(tmp_path: Path) -> None:
    repo = fake_repo(
        tmp_path / "repo",
        handler_source="from inspector.testing import FakeDetector\n",
        constraints=CONSTRAINTS.read_text(encoding="utf-8"),
    )

    with pytest.raises(BundleError, match=r"handler/__init__\.py imports inspector\.testing at module level"):
        build_bundle(repo_root=repo, out_dir=tmp_path / "out")


def test_a_constraints_file_without_the_runtime_pins_is_refused(tmp_path: Path) -> None:
    repo = fake_repo(
        tmp_path / "repo",
        handler_source="def lambda_handler(event, context):\n    from inspector.testing import x\n",
        constraints="pydantic==2.14.4\nboto3==1.44.8\n",
    )

    with pytest.raises(
        BundleError,
        match="pins no version of annotated-types, anyascii, botocore, importlib-metadata, jmespath",
    ):
        build_bundle(repo_root=repo, out_dir=tmp_path / "out")


# The function's cold start and one invocation, on a clean interpreter: no site-packages (-S), no PYTHON*
# variables (-I, which also ignores PYTHONPATH: the script puts the two folders on sys.path itself), so
# only the standard library, the unpacked bundle and the runtime's boto3 can load, in Lambda's order:
# /var/task (the bundle) first, then /var/runtime.
INVOKE = """
import json, sys, sysconfig
bundle_dir, boto_dir, result_file = sys.argv[1:4]
sys.path[:0] = [bundle_dir, boto_dir]
assert sys.version_info[:2] == (3, 13), sys.version
import handler, pydantic
result = handler.lambda_handler(json.load(sys.stdin), None)
allowed = (bundle_dir, boto_dir, sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib"))
foreign = sorted(
    f"{name}: {module.__file__}" for name, module in sys.modules.items()
    if getattr(module, "__file__", None)
    and (not module.__file__.startswith(allowed) or "site-packages" in module.__file__)
)
import botocore
with open(result_file, "w") as out:
    json.dump({"result": result, "pydantic": pydantic.VERSION, "foreign": foreign,
               "botocore": [botocore.__version__, botocore.__file__]}, out)
"""


def clean_python313() -> str | None:
    candidates = sorted((Path.home() / ".pyenv" / "versions").glob("3.13.*/bin/python3.13"))
    candidates += [Path(found)] if (found := shutil.which("python3.13")) else []
    for candidate in candidates:
        probe = subprocess.run(
            [str(candidate), "-I", "-S", "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == "True":
            return str(candidate)
    return None


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def sqs_event(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
    body = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2026-11-03T09:14:27.512Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAWIDGETCAMERA0LINE3"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "inspect-new-images",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": size, "eTag": etag, "sequencer": "00672741A37D2E1F08"},
                },
            }
        ]
    }
    return {
        "Records": [
            {
                "messageId": "6c1f2b8e-94d3-4a57-b0e6-3f8d2c7a1e95",
                "receiptHandle": "AQEBwidgetq0L3fPzK7mY2nR8vT1sX6cB9dH4jW0aE5gU3iO7kN2lQ6rS1tV8yZ0x==",
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1793697267640",
                    "SenderId": "AROAWIDGETS3NOTIFIER:S3-PROD-END",
                    "ApproximateFirstReceiveTimestamp": "1793697267677",
                },
                "messageAttributes": {},
                "md5OfBody": "789a56de24e483fa518705aad798ba62",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{DEFAULT_ACCOUNT_ID}:widget-inspection",
                "awsRegion": REGION,
            }
        ]
    }


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials for the moto server, on a machine whose bundle can run here."""
    if HOST_ARCHITECTURE is None:
        pytest.skip(f"no bundle can run on this {platform.machine()} machine (arm64 and x86_64 only)")
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def old_runtime_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What an older Lambda runtime provides in /var/runtime: boto3 from before S3's conditional writes."""
    target = tmp_path_factory.mktemp("runtime")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.13", "--no-compile",
         "--target", str(target), *OLD_SDK],
        capture_output=True, check=True,
    )  # fmt: skip
    return target


def invoke_bundle(
    bundle: Bundle, runtime: Path, moto_endpoint: str, tmp_path: Path, *, without_sdk: bool = False
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], Any]:
    """Unpack the bundle as Lambda does (/var/task), upload an image to moto, and run one invocation on a
    clean python3.13 with the runtime's SDK behind the bundle. Returns (process, outcome, the S3 client)."""
    python = clean_python313()
    if python is None:
        pytest.skip("no working python3.13 (pyenv or PATH) to run the bundle with")
    bundle_dir = tmp_path / "task"
    with zipfile.ZipFile(bundle.path) as archive:
        archive.extractall(bundle_dir)
    if without_sdk:  # as the bundle was before it carried the SDK: the runtime's is the one imported
        for name in ("boto3", "botocore", "s3transfer"):
            shutil.rmtree(bundle_dir / name)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    sns = boto3.client("sns", endpoint_url=moto_endpoint)
    bucket = f"widget-factory-images-{len(list(tmp_path.parent.iterdir()))}"
    s3.create_bucket(Bucket=bucket)
    topic_arn = sns.create_topic(Name="widget-verdicts")["TopicArn"]
    image = io.BytesIO()
    Image.new("RGB", (120, 120), (40, 90, 160)).save(image, "JPEG")
    s3.put_object(Bucket=bucket, Key="images/line-3/w1.jpg", Body=image.getvalue(), ContentType="image/jpeg")
    head = s3.head_object(Bucket=bucket, Key="images/line-3/w1.jpg")
    event = sqs_event(bucket, "images/line-3/w1.jpg", head["ContentLength"], head["ETag"].strip('"'))
    env = {
        "HOME": str(tmp_path),  # no ~/.aws of the person running the tests
        **FAKE_AWS_ENV,
        "INSPECTOR_ENDPOINT_URL": moto_endpoint,
        "INSPECTOR_TOPIC_ARN": topic_arn,
        "INSPECTOR_BUCKET": bucket,
        "INSPECTOR_CRITERIA": json.dumps({"require": [{"label": "Mobile Phone"}]}),
        "INSPECTOR_DETECTOR": "rekognition",
    }
    result_file = tmp_path / "result.json"
    run = subprocess.run(
        [python, "-I", "-S", "-c", INVOKE, str(bundle_dir), str(runtime), str(result_file)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    outcome = json.loads(result_file.read_text()) if result_file.exists() else {}
    return run, outcome, (s3, bucket, bundle_dir, topic_arn)


def test_the_function_runs_from_the_bundle_alone_on_a_clean_python_with_its_own_sdk(
    bundles: dict[str, Bundle], moto_endpoint: str, old_runtime_sdk: Path, tmp_path: Path, fake_aws: None
) -> None:
    assert HOST_ARCHITECTURE is not None
    run, outcome, (s3, bucket, bundle_dir, topic_arn) = invoke_bundle(
        bundles[HOST_ARCHITECTURE], old_runtime_sdk, moto_endpoint, tmp_path
    )

    assert 0 == run.returncode, run.stderr + run.stdout
    assert {"batchItemFailures": []} == outcome["result"], run.stdout
    assert [] == outcome["foreign"]
    assert outcome["pydantic"].startswith("2.")
    version, location = outcome["botocore"]
    assert version == boto3.__version__  # boto3 and botocore share version numbers; pinned alike
    assert location.startswith(str(bundle_dir))  # the bundle's SDK, not the runtime's older one
    record = json.loads(s3.get_object(Bucket=bucket, Key="results/line-3/w1.jpg.json")["Body"].read())
    assert "PASS" == record["verdict"]
    assert "analyzed/passed/line-3/w1.jpg" == record["destination"]
    assert ["analyzed/passed/line-3/w1.jpg", "results/line-3/w1.jpg.json"] == sorted(
        item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]
    )
    assert 1 == len(sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[topic_arn].sent_notifications)


def test_on_the_older_runtime_sdk_alone_the_function_cannot_write_its_records(
    bundles: dict[str, Bundle], moto_endpoint: str, old_runtime_sdk: Path, tmp_path: Path, fake_aws: None
) -> None:
    # Why the SDK is bundled: the conditional record write (PutObject If-None-Match) is refused by the
    # 2024 SDK before it is sent, so every image would be retried until it reached the dead-letter queue.
    assert HOST_ARCHITECTURE is not None
    run, outcome, (s3, bucket, _, _) = invoke_bundle(
        bundles[HOST_ARCHITECTURE], old_runtime_sdk, moto_endpoint, tmp_path, without_sdk=True
    )

    assert 0 == run.returncode, run.stderr
    assert OLD_SDK[1].split("==")[1] == outcome["botocore"][0]
    assert 1 == len(outcome["result"]["batchItemFailures"])
    errors = [json.loads(line).get("error", "") for line in run.stdout.splitlines() if line.startswith("{")]
    assert any(
        "ParamValidationError" in e and 'Unknown parameter in input: "IfNoneMatch"' in e for e in errors
    )
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="results/")


def test_make_bundle_reports_the_sdk_and_warns_loudly_without_bytecode(bundles: dict[str, Bundle]) -> None:
    bundle = bundles["arm64"]
    without = Bundle(bundle.path, bundle.sha256, bundle.size, "arm64", "3.13", compiled=False)

    shown = "\n".join(bundle_module.report(bundle))
    warned = "\n".join(bundle_module.report(without))

    assert f"sdk:       boto3 {boto3.__version__}" in shown
    assert "WARNING" not in shown
    assert "bytecode:  NO" in warned
    assert "WARNING: no python3.13 on this machine" in warned
    assert "pyenv install 3.13" in warned
    assert "uv python install 3.13" in warned


DIGEST = """
import json, sys
bundle_dir, boto_dir, result_file = sys.argv[1:4]
sys.path[:0] = [bundle_dir, boto_dir]
import handler
cold = sorted(m for m in sys.modules if m.startswith(("sqlglot", "pygal", "inspector.reports")))
result = handler.digest_handler({"day": "2026-11-28"}, None)
with open(result_file, "w") as out:
    json.dump({"result": result, "before": cold}, out)
"""


def athena_result(columns: list[str], rows: list[list[str]]) -> dict[str, Any]:
    """One query's answer as moto's Athena hands it out (the header row first, as Athena's)."""
    types = {"images": "bigint", "judged": "bigint", "failed": "bigint", "occurrences": "bigint"}
    return {
        "rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in [columns, *rows]],
        "column_info": [{"Name": c, "Type": types.get(c, "varchar"), "Nullable": "UNKNOWN"} for c in columns],
    }


def test_the_bundle_carries_the_reports_sql_and_the_digests_libraries(bundles: dict[str, Bundle]) -> None:
    carried = names(bundles["arm64"])

    assert "inspector/reports/report.sql" in carried
    assert "inspector/reports/function.py" in carried
    assert any(n.startswith("sqlglot/") for n in carried)
    assert any(n.startswith("pygal/") for n in carried)
    assert not any(n.startswith("duckdb") for n in carried)


def test_the_digest_runs_from_the_bundle_alone_on_a_clean_python(
    bundles: dict[str, Bundle], moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if HOST_ARCHITECTURE is None:
        pytest.skip(f"no bundle can run on this {platform.machine()} machine (arm64 and x86_64 only)")
    python = clean_python313()
    if python is None:
        pytest.skip("no working python3.13 (pyenv or PATH) to run the bundle with")
    bundle_dir = tmp_path / "task"
    with zipfile.ZipFile(bundles[HOST_ARCHITECTURE].path) as archive:
        archive.extractall(bundle_dir)
    boto_dir = tmp_path / "runtime"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.13", "--no-compile",
         "--target", str(boto_dir), "-c", str(CONSTRAINTS), "boto3"],
        capture_output=True, check=True,
    )  # fmt: skip
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    sns = boto3.client("sns", endpoint_url=moto_endpoint)
    athena = boto3.client("athena", endpoint_url=moto_endpoint)
    bucket = "widget-factory-images"
    s3.create_bucket(Bucket=bucket)
    topic_arn = sns.create_topic(Name="widget-verdicts")["TopicArn"]
    athena.create_work_group(
        Name="inspector-test",
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{bucket}-athena/"}},
    )
    # The five queries' answers, in the order the digest asks: verdicts, subgroups, reasons, backlog,
    # agreement.
    answers = [
        athena_result(["line", "verdict", "effective", "images"],
                      [["line-3", "PASS", "PASS", "40"], ["line-3", "FAIL", "FAIL", "9"],
                       ["line-3", "REVIEW", "REVIEW", "1"]]),
        athena_result(["line", "subgroup", "judged", "failed"],
                      [["line-3", "2026-11-28T07", "20", "0"], ["line-3", "2026-11-28T08", "20", "0"],
                       ["line-3", "2026-11-28T09", "10", "9"]]),
        athena_result(["line", "verdict", "rule", "subject", "occurrences"],
                      [["line-3", "FAIL", "forbid[0]", "Scratch", "9"]]),
        athena_result(["line", "day", "images", "oldest"],
                      [["line-3", "2026-11-28", "1", "2026-11-28T09:10:00Z"]]),
        athena_result(["line", "verdict", "decided", "images"], []),
    ]  # fmt: skip
    response = requests.post(
        f"{moto_endpoint}/moto-api/static/athena/query-results",
        json={"account_id": DEFAULT_ACCOUNT_ID, "region": REGION, "results": answers},
        timeout=10,
    )
    assert 201 == response.status_code or response.ok
    env = {
        "HOME": str(tmp_path),
        **FAKE_AWS_ENV,
        "INSPECTOR_ENDPOINT_URL": moto_endpoint,
        "INSPECTOR_TOPIC_ARN": topic_arn,
        "INSPECTOR_BUCKET": bucket,
        "INSPECTOR_ATHENA_WORKGROUP": "inspector-test",
        "INSPECTOR_ATHENA_DATABASE": "inspector_test",
        "INSPECTOR_ATHENA_TABLE": "records",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }
    result_file = tmp_path / "result.json"

    run = subprocess.run(
        [python, "-I", "-S", "-c", DIGEST, str(bundle_dir), str(boto_dir), str(result_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert 0 == run.returncode, run.stderr + run.stdout
    outcome = json.loads(result_file.read_text())
    assert [] == outcome["before"]  # importing the handler loads none of the digest's modules
    assert 5 == outcome["result"]["athena_queries"]
    assert [{"line": "line-3", "report": "reports/line-3/2026-11-28.html"}] == [
        {k: v for k, v in d.items() if k != "message_id"} for d in outcome["result"]["digests"]
    ]
    page = s3.get_object(Bucket=bucket, Key="reports/line-3/2026-11-28.html")["Body"].read().decode()
    assert "<svg" in page
    (topic,) = [t for t in sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics.values() if t.arn == topic_arn]
    # The module's moto server is shared: the function's own test published to this topic too.
    subjects = [n[2] for n in topic.sent_notifications if (n[2] or "").startswith("QC digest")]
    assert ["QC digest 2026-11-28 line-3: 50 images, yield 80.0%, 1 out of control"] == subjects
