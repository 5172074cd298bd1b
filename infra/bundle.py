"""The Lambda deployment package: handler, library and its dependencies (the AWS SDK included) for the
function's platform, reproducibly."""

from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
CONSTRAINTS: Final = Path("requirements") / "constraints.txt"
DEFAULT_OUT_DIR: Final = Path("build") / "lambda"  # under the repository root, git-ignored

# Our packages, copied from the working tree: the handler and the library it runs.
SOURCE_PACKAGES: Final = ("handler", "inspector")
SOURCE_SUFFIXES: Final = frozenset({".py", ".typed", ".sql"})  # sources, PEP 561 markers, the reports' SQL
# Files that are not modules, carried when their package is: PEP 561 markers, inspector/reports/report.sql.
DATA_SUFFIXES: Final = frozenset({".typed", ".sql"})

# Library modules the function never imports, left out of the bundle (paths relative to the repository).
EXCLUDED_SOURCES: Final[Mapping[str, str]] = {
    # The `inspector` console script (evaluates saved analyses, reads YAML criteria): never run in Lambda.
    "inspector/cli.py": "the command line is not run in Lambda",
    # Test doubles for users' tests (a fake detector and friends): no business in production.
    "inspector/testing.py": "test doubles only",
    # The widget generator draws benchmark and demo photos; the function never draws any.
    "inspector/reference/synthetic.py": "benchmarks and demo only",
}

# What the function needs at run time, pinned by requirements/constraints.txt: pydantic for the core;
# anyascii (email subjects that keep a key's name in ASCII); numpy and Pillow (the reference and local
# detectors, evidence images; imported only when used, so a Rekognition-only cold start does not load them);
# sqlglot (the reports' SQL, carried to Athena's dialect) and pygal (the report's SVG charts, pure Python)
# for the digest handler, which imports them only when a digest runs; and the AWS SDK the tests ran with.
# The Lambda runtime has a boto3 of its own, but of its own date: the function's conditional S3 requests
# (PutObject If-None-Match / If-Match, DeleteObject If-Match) are unknown to SDKs before late 2024, which
# refuse them before sending anything. Lambda puts the code directory (/var/task) first on sys.path, so the
# bundled SDK is the one imported.
RUNTIME_REQUIREMENTS: Final = ("pydantic", "anyascii", "numpy", "pillow", "sqlglot", "pygal", "boto3")
SDK_DISTRIBUTIONS: Final = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)
RUNTIME_DISTRIBUTIONS: Final = (
    frozenset(
        {"pydantic", "pydantic-core", "typing-extensions", "annotated-types", "typing-inspection", "anyascii"}
    )
    | {"numpy", "pillow"}
    | {"sqlglot", "pygal", "importlib-metadata", "zipp", "lazy-importer"}
    | SDK_DISTRIBUTIONS
)

# botocore carries the model of every AWS service (16 MB of the zip); the bundle keeps those of the services
# our sources make clients for (`sdk_services`), plus these. Add a service here when a client's service name
# is not a string literal in the call that makes it.
ALWAYS_SDK_SERVICES: Final = frozenset({"sts"})
CLIENT_FACTORIES: Final = frozenset(
    {"client", "make_client", "aws_client"}
)  # callables taking a service name

# Lambda architecture -> machine name, as in wheel platform tags and extension-module file names.
ARCHITECTURES: Final[Mapping[str, str]] = {"arm64": "aarch64", "x86_64": "x86_64"}
MIN_PYTHON_MINOR: Final = 11  # the library needs 3.11 (StrEnum, datetime.UTC)

# Fixed zip metadata: the same sources give the same bytes, whenever and wherever they are built.
ZIP_DATE_TIME: Final = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
FILE_MODE: Final = 0o100644  # regular file, rw-r--r--
COMPRESS_LEVEL: Final = 9  # same bytes for the same zlib; another deflate (e.g. zlib-ng) may differ
UNIX: Final = 3  # ZipInfo.create_system: the high 16 bits of external_attr are Unix permissions

# Bump when the way dependencies are installed or cleaned changes, to invalidate cached installs.
_RECIPE: Final = "2"  # 2: the SDK is bundled


class BundleError(Exception):
    """The Lambda bundle cannot be built as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Bundle:
    """A built deployment package."""

    path: Path  # the .zip
    sha256: str  # hex digest of the zip bytes
    size: int  # bytes
    architecture: str  # "arm64" | "x86_64"
    python_version: str  # "3.13"
    compiled: bool = False  # whether it carries .pyc files made by the function's Python version
    sdk_services: tuple[str, ...] = ()  # the AWS services whose botocore models it carries
    distributions: tuple[tuple[str, str], ...] = ()  # (name, version) of every third-party distribution


def build_bundle(
    *,
    architecture: str = "arm64",
    python_version: str = "3.13",
    out_dir: Path | None = None,
    repo_root: Path | None = None,
) -> Bundle:
    """Zip the handler, the library, pydantic and the SDK (installed for `architecture`) into `out_dir`.

    The dependency install is cached in `out_dir`, keyed by the pinned versions, the architecture and the
    Python version. Raises `BundleError` on bad arguments, a missing pin or a wrong dependency install.
    """
    machine = _check_architecture(architecture)
    _check_python_version(python_version)
    root = (repo_root or REPO_ROOT).resolve()
    out = (out_dir or root / DEFAULT_OUT_DIR).resolve()

    sources = _collect_sources(root)
    pins = _runtime_pins(root / CONSTRAINTS)
    deps_dir = _dependencies(
        out, pins, constraints=root / CONSTRAINTS, architecture=architecture, python_version=python_version
    )
    _check_dependencies(deps_dir, pins, machine=machine, python_version=python_version)

    entries = dict(sources)
    services = sdk_services(sources, deps_dir)
    for name, path in _walk(deps_dir):
        if not _keep_sdk_data(name, services):
            continue
        if name in entries:
            raise BundleError(f"{name} is both one of our sources and in a dependency: rename ours")
        entries[name] = path
    compiled = _compile(entries, out / f"pyc-py{python_version}", python_version=python_version)
    entries.update(compiled)
    zip_path = out / f"inspector-lambda-{architecture}-py{python_version}.zip"
    _write_zip(zip_path, entries)
    data = zip_path.read_bytes()
    return Bundle(
        path=zip_path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        architecture=architecture,
        python_version=python_version,
        compiled=bool(compiled),
        sdk_services=tuple(sorted(services)),
        distributions=tuple(sorted(pins.items())),
    )


def _compile(entries: Mapping[str, Path], staging: Path, *, python_version: str) -> dict[str, Path]:
    """Bytecode for every module, made by the function's own Python version when this machine has it.

    Lambda's code directory is read-only, so without .pyc files every cold start compiles the bundle's
    modules again (pydantic's included): ~110 ms here. The .pyc files use unchecked hashes (no timestamp to
    go stale or to change the archive) and name their source as Lambda sees it (/var/task/...), so the
    same sources and interpreter give the same bytes. Without that interpreter the bundle ships sources
    only, which Lambda compiles on every cold start: correct, only slower.
    """
    interpreter = find_interpreter(python_version)
    if interpreter is None:
        return {}
    shutil.rmtree(staging, ignore_errors=True)
    for name, path in entries.items():
        if name.endswith(".py"):
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staging / name)
    script = (
        "import compileall, py_compile, sys; "
        "ok = compileall.compile_dir(sys.argv[1], ddir='/var/task', quiet=1, workers=1, "
        "invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH); "
        "sys.exit(0 if ok else 1)"
    )
    result = subprocess.run(  # noqa: S603 - the function's Python version, found on PATH
        [interpreter, "-I", "-c", script, str(staging)],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "")},
    )
    if result.returncode != 0:
        raise BundleError(
            f"python{python_version} could not compile the bundle: {result.stdout}{result.stderr}"
        )
    return {
        path.relative_to(staging).as_posix(): path
        for path in sorted(staging.rglob("*.pyc"))
        if path.is_file()
    }


def sdk_services(sources: Mapping[str, Path], deps_dir: Path) -> frozenset[str]:
    """The AWS services whose botocore models the bundle keeps: every service named by a string literal in a
    call to a client factory (`boto3.client("s3")`, `make_client("sns", ...)`) in the bundle's sources,
    and `ALWAYS_SDK_SERVICES`."""
    data = deps_dir / "botocore" / "data"
    known = {p.name for p in data.iterdir() if p.is_dir()} if data.is_dir() else set()
    found = set(ALWAYS_SDK_SERVICES)
    for path in sources.values():
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if callee in CLIENT_FACTORIES:
                found.update(
                    arg.value for arg in node.args[:2] if isinstance(arg, ast.Constant) and arg.value in known
                )
    unknown = sorted(found - known) if known else []
    if unknown:
        raise BundleError(f"ALWAYS_SDK_SERVICES names services botocore does not know: {', '.join(unknown)}")
    return frozenset(found)


def _keep_sdk_data(name: str, services: frozenset[str]) -> bool:
    """Whether an archive name is kept: everything but the models of services the function never calls."""
    parts = name.split("/")
    if parts[:2] != ["botocore", "data"] or len(parts) < 4:
        return True  # not botocore's data, or one of its shared files (endpoints.json, partitions.json, ...)
    return parts[2] in services


def find_interpreter(python_version: str) -> str | None:
    """A Python `python_version` on this machine: on PATH, or installed by pyenv; None when there is none."""
    candidates = [shutil.which(f"python{python_version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [
        str(p) for p in sorted(pyenv_root.glob(f"versions/{python_version}.*/bin/python{python_version}"))
    ]
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            result = subprocess.run(  # noqa: S603 - a Python interpreter found on this machine
                [candidate, "-I", "-c", probe], capture_output=True, text=True, check=False, timeout=30
            )
        except OSError:
            continue
        if result.returncode == 0 and result.stdout.strip() == python_version:
            return candidate
    return None


def describe(bundle: Bundle) -> str:
    """One line for a person: name, size zipped and unzipped, file count, start of the sha256."""
    with zipfile.ZipFile(bundle.path) as archive:
        infos = archive.infolist()
    unzipped = sum(info.file_size for info in infos)
    return (
        f"{bundle.path.name}: {bundle.size / 1e6:.1f} MB ({unzipped / 1e6:.1f} MB unzipped), "
        f"{len(infos)} files, {'with' if bundle.compiled else 'without'} bytecode, "
        f"sha256 {bundle.sha256[:12]}…"
    )


def _check_architecture(architecture: str) -> str:
    if architecture not in ARCHITECTURES:
        raise BundleError(
            f"architecture {architecture!r} is not a Lambda architecture: "
            f"use one of {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[architecture]


def _check_python_version(python_version: str) -> None:
    match = re.fullmatch(r"3\.(\d{1,2})", python_version)
    if match is None or int(match[1]) < MIN_PYTHON_MINOR:
        raise BundleError(
            f"python_version {python_version!r} is not supported: give the Lambda runtime's major.minor, "
            f"3.{MIN_PYTHON_MINOR} or later, e.g. '3.13'"
        )


def _collect_sources(root: Path) -> dict[str, Path]:
    """Archive name -> file: the modules the handler can import (at module level or inside a function),
    with their packages' `__init__` and PEP 561 markers, minus `EXCLUDED_SOURCES`."""
    available: dict[str, Path] = {}
    for package in SOURCE_PACKAGES:
        if not (root / package / "__init__.py").is_file():
            raise BundleError(f"{root / package} is not a package: is {root} the repository root?")
        for name, path in _walk(root / package, prefix=f"{package}/"):
            if name not in EXCLUDED_SOURCES and path.suffix in SOURCE_SUFFIXES:
                available[name] = path
    needed = _reachable(available, start=f"{SOURCE_PACKAGES[0]}/__init__.py")
    entries = {
        name: path
        for name, path in available.items()
        if name in needed
        or (path.suffix in DATA_SUFFIXES and name.rsplit("/", 1)[0] + "/__init__.py" in needed)
    }
    _check_imports(entries)
    return entries


def _reachable(available: Mapping[str, Path], *, start: str) -> set[str]:
    """The archive names of every module reachable from `start` through imports of our own modules."""
    by_module = {_module_name(name): name for name in available if name.endswith(".py")}
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        module = _module_name(name)
        # A module's packages are imported with it.
        parts = module.split(".")
        todo.extend(
            by_module[p] for p in (".".join(parts[:i]) for i in range(1, len(parts))) if p in by_module
        )
        tree = ast.parse(available[name].read_bytes(), filename=str(available[name]))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            todo.extend(by_module[t] for t in targets if t in by_module)
    return seen


def _check_imports(entries: Mapping[str, Path]) -> None:
    # A module-level import of a left-out module would make every cold start fail with ImportError:
    # refuse to build such a bundle. (Imports inside functions are how optional modules are reached.)
    left_out = {_module_name(name) for name in EXCLUDED_SOURCES}
    for name, path in entries.items():
        if path.suffix != ".py":
            continue
        tree = ast.parse(path.read_bytes(), filename=str(path))
        for node in tree.body:
            imported: list[str] = []
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for module in imported:
                if module in left_out:
                    raise BundleError(
                        f"{name} imports {module} at module level, but the bundle leaves it out "
                        f"({EXCLUDED_SOURCES[module.replace('.', '/') + '.py']}): import it inside the "
                        "function that needs it, or take it off EXCLUDED_SOURCES in infra/bundle.py"
                    )


def _module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _runtime_pins(constraints: Path) -> dict[str, str]:
    """Distribution -> pinned version, for `RUNTIME_DISTRIBUTIONS`, from the constraints file."""
    try:
        text = constraints.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(
            f"cannot read {constraints} ({exc.strerror}): run `make lock` to create it"
        ) from None
    pins: dict[str, str] = {}
    for line in text.splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match and _normalize(match[1]) in RUNTIME_DISTRIBUTIONS:
            pins[_normalize(match[1])] = match[2]
    missing = sorted(RUNTIME_DISTRIBUTIONS - pins.keys())
    if missing:
        raise BundleError(f"{constraints} pins no version of {', '.join(missing)}: run `make lock`")
    return pins


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _dependencies(
    out: Path, pins: Mapping[str, str], *, constraints: Path, architecture: str, python_version: str
) -> Path:
    """The directory pydantic & co. are installed in for this platform: cached, installed when missing."""
    key_text = "\n".join(
        [_RECIPE, architecture, python_version, *(f"{name}=={pins[name]}" for name in sorted(pins))]
    )
    key = hashlib.sha256(key_text.encode()).hexdigest()[:16]
    target = out / "deps" / f"{architecture}-py{python_version}-{key}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _install_dependencies(
            staging, constraints=constraints, architecture=architecture, python_version=python_version
        )
        _clean(staging)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # else a concurrent build got there first with the same install
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _install_dependencies(target: Path, *, constraints: Path, architecture: str, python_version: str) -> None:
    machine = ARCHITECTURES[architecture]
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-input",
        # Both tags: pip does not widen a --platform to older manylinux tags, and pydantic-core's wheels are
        # manylinux2014 (glibc 2.17). Without that tag pip finds none: unpinned, it silently falls back to
        # pydantic 1.x; pinned, it cannot resolve. manylinux_2_28 admits wheels built for newer glibc only
        # (Lambda's Amazon Linux 2023 has glibc 2.34).
        "--platform", f"manylinux2014_{machine}",
        "--platform", f"manylinux_2_28_{machine}",
        "--only-binary=:all:",
        "--implementation", "cp",
        "--python-version", python_version,
        # --target would compile .pyc files for this machine's Python, useless to the function's.
        "--no-compile",
        "--target", str(target),
        "-c", str(constraints),
        *RUNTIME_REQUIREMENTS,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own pip
    if result.returncode != 0:
        raise BundleError(
            f"pip could not install {', '.join(RUNTIME_REQUIREMENTS)} for {architecture} / "
            f"Python {python_version} "
            f"(exit {result.returncode}); is PyPI reachable?\n$ {' '.join(command)}\n{result.stderr.strip()}"
        )


def _clean(target: Path) -> None:
    # Console scripts (bin/) are for a shell, and bytecode would be for this machine's Python.
    shutil.rmtree(target / "bin", ignore_errors=True)
    for cache in sorted(target.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    for compiled in target.rglob("*.py[co]"):
        compiled.unlink()


def _check_dependencies(deps: Path, pins: Mapping[str, str], *, machine: str, python_version: str) -> None:
    installed: dict[str, str] = {}
    for dist_info in deps.glob("*.dist-info"):
        name, _, version = dist_info.name.removesuffix(".dist-info").partition("-")
        installed[_normalize(name)] = version
    if installed != dict(pins):
        raise BundleError(
            f"{deps} holds {_versions(installed)}, but requirements/constraints.txt pins {_versions(pins)}: "
            "if pydantic's or boto3's dependencies changed, update RUNTIME_DISTRIBUTIONS in infra/bundle.py; "
            f"else delete {deps} and build again"
        )
    version_file = deps / "pydantic" / "version.py"
    match = re.search(r"^VERSION = '([^']+)'", version_file.read_text(encoding="utf-8"), re.MULTILINE)
    if match is None or not match[1].startswith("2."):
        found = match[1] if match else "no VERSION"
        raise BundleError(f"{version_file} says {found}, not pydantic 2.x: pip picked the wrong wheel")
    tag = f"cpython-{python_version.replace('.', '')}-{machine}-linux-gnu"
    if not list((deps / "pydantic_core").glob(f"_pydantic_core.{tag}.so")):
        found = ", ".join(sorted(p.name for p in (deps / "pydantic_core").glob("*.so"))) or "none"
        raise BundleError(f"pydantic_core has no extension module tagged {tag} (found: {found})")
    wrong = sorted(
        str(p.relative_to(deps)) for p in deps.rglob("*.so") if ".cpython-" in p.name and tag not in p.name
    )
    if wrong:
        raise BundleError(f"extension modules built for another platform: {', '.join(wrong)} (want {tag})")


def _versions(dists: Mapping[str, str]) -> str:
    return ", ".join(f"{name}=={version}" for name, version in sorted(dists.items())) or "nothing"


def _walk(directory: Path, prefix: str = "") -> Iterable[tuple[str, Path]]:
    """(archive name, file) for every file below `directory`, minus bytecode caches."""
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for filename in filenames:
            if filename.endswith((".pyc", ".pyo")):
                continue
            path = Path(dirpath) / filename
            yield prefix + path.relative_to(directory).as_posix(), path


def _write_zip(zip_path: Path, entries: Mapping[str, Path]) -> None:
    # Files only (no directory entries), sorted, with fixed time and mode: only the contents vary.
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    partial = zip_path.with_name(zip_path.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.create_system = UNIX
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes(), compresslevel=COMPRESS_LEVEL)
    partial.replace(zip_path)


def report(bundle: Bundle) -> list[str]:
    """What `make bundle` prints: size, platform, Python, SDK, bytecode; a loud warning without bytecode."""
    versions = dict(bundle.distributions)
    lines = [
        f"bundle:    {bundle.path}",
        f"size:      {describe(bundle)}",
        f"platform:  manylinux {ARCHITECTURES[bundle.architecture]} (Lambda {bundle.architecture})",
        f"python:    {bundle.python_version} (CPython wheels for cp{bundle.python_version.replace('.', '')})",
        f"sdk:       boto3 {versions.get('boto3', '?')}, botocore {versions.get('botocore', '?')} "
        "(bundled: the versions the tests ran with, imported before the runtime's own); models of "
        + ", ".join(bundle.sdk_services),
        f"pydantic:  {versions.get('pydantic', '?')} (pydantic-core {versions.get('pydantic-core', '?')})",
        f"bytecode:  {'yes, compiled by Python ' + bundle.python_version if bundle.compiled else 'NO'}",
    ]
    if not bundle.compiled:
        lines += [
            "",
            "!" * 100,
            f"WARNING: no python{bundle.python_version} on this machine, so the bundle carries no bytecode.",
            "Lambda's code directory is read-only: every cold start would compile every module again",
            "(about 2.8 x `import boto3` instead of 1.6 x; see the README's Figures). Install that Python",
            f"and build again: `pyenv install {bundle.python_version}` or "
            f"`uv python install {bundle.python_version}`",
            "(then put it on PATH), or your OS's package (e.g. `apt-get install python"
            f"{bundle.python_version}`).",
            "!" * 100,
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m infra.bundle [--architecture arm64|x86_64] [--python 3.13]`: build and report."""
    import argparse  # noqa: PLC0415 - the command line only

    parser = argparse.ArgumentParser(prog="python -m infra.bundle", description=main.__doc__)
    parser.add_argument("--architecture", default="arm64", choices=sorted(ARCHITECTURES))
    parser.add_argument("--python", dest="python_version", default="3.13", metavar="3.X")
    args = parser.parse_args(argv)
    try:
        bundle = build_bundle(architecture=args.architecture, python_version=args.python_version)
    except BundleError as exc:
        print(f"bundle: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report(bundle)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
