"""Reports where CI systems and readers look: ``--junit-xml`` is valid against the JUnit schema
Jenkins' xUnit plugin reads (vendored in ``tests/schemas``), with one test case per
requirement, and every report links each requirement to its text in the hosted specification
of the version it was judged against."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import test_report_views as views
import xmlschema
from memspec.catalogue import Level, catalogue
from memspec.conformance.cli import main
from memspec.conformance.report import badge_svg, junit_xml, markdown
from memspec.report import (
    DEFAULT_DOCS_URL,
    DOCS_URL_ENV,
    Status,
    docs_base_url,
    requirement_url,
)

ROOT = Path(__file__).resolve().parents[1]
JUNIT_SCHEMA = ROOT / "tests" / "schemas" / "junit-10.xsd"
BROKEN = "corpus.broken:KeepsLastItem"  # keeps only the last item: MM-STORE-002 fails
DOCS = "https://docs.example.test/memspec"


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(JUNIT_SCHEMA))


def cases(root: ET.Element) -> dict[str, ET.Element]:
    """The test cases of a JUnit document by name."""
    return {case.attrib["name"]: case for case in root.iter("testcase")}


def test_a_failing_run_in_junit_xml_says_what_failed_and_why_the_rest_was_not_judged(
    tmp_path: Path, junit_schema: xmlschema.XMLSchema, capsys: pytest.CaptureFixture[str]
) -> None:
    xml, report, md, badge = (tmp_path / n for n in ("r.xml", "r.json", "r.md", "b.svg"))
    status = main(
        [
            "certify",
            BROKEN,
            *("--profile", "core", "--quick", "--no-shrink", "--seed", "1", "-q"),
            *("--junit-xml", str(xml), "--report", str(report), "--markdown", str(md)),
            *("--badge", str(badge), "--docs-url", DOCS),
        ]
    )
    assert status == 1
    junit_schema.validate(str(xml))
    data = json.loads(report.read_text("utf-8"))
    root = ET.parse(xml).getroot()
    by_name = cases(root)
    assert list(by_name) == [r["id"] for r in data["requirements"]]
    suite = root.find("testsuite")
    assert suite is not None
    properties = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert properties["conformant"] == "false"
    assert properties["spec_version"] == data["spec_version"] == catalogue().spec_version
    spec_page = f"{DOCS}/{data['spec_version']}/spec/index.html"
    assert properties["spec_url"] == data["spec_url"] == spec_page

    failed = [r for r in data["requirements"] if r["status"] == "failed" and r["level"] == "MUST"]
    assert any(r["id"] == "MM-STORE-002" for r in failed)
    for result in failed:
        failure = by_name[result["id"]].find("failure")
        assert failure is not None and failure.text is not None
        assert failure.attrib["message"] == result["message"].splitlines()[0]
        assert f"Specification: {spec_page}#{result['id']}" in failure.text
        if result["reproduction"]:
            assert result["reproduction"].rstrip() in failure.text
    blocked = [r for r in data["requirements"] if r["status"] == "blocked"]
    assert blocked
    for result in blocked:
        skipped = by_name[result["id"]].find("skipped")
        assert skipped is not None
        assert skipped.attrib["message"] == f"blocked by {', '.join(result['blocked_by'])}"
    not_judged = sum(r["status"] in ("blocked", "skipped") for r in data["requirements"])
    assert suite.attrib["skipped"] == str(not_judged)
    assert suite.attrib["failures"] == str(len(failed)) and suite.attrib["errors"] == "0"

    for result in data["requirements"]:
        assert result["url"] == f"{spec_page}#{result['id']}"
    text = md.read_text("utf-8")
    assert f"(spec [{data['spec_version']}]({spec_page})," in text
    assert f"| [`MM-STORE-002`]({spec_page}#MM-STORE-002) | MUST |" in text
    assert ET.parse(badge).getroot().find("{http://www.w3.org/2000/svg}a") is not None
    assert f'href="{spec_page}"' in badge.read_text("utf-8")
    assert "NOT CONFORMANT" in capsys.readouterr().out


def test_a_should_warning_passes_and_text_xml_cannot_carry_is_escaped(
    junit_schema: xmlschema.XMLSchema,
) -> None:
    warned = views.result(
        "MM-SEC-002",
        Status.FAILED,
        "targeted:quiet-logs: logged 'secret\x00' at INFO",
        output="INFO secret\x00\x1b[0m\ud800",
    )
    assert warned.level is Level.SHOULD
    skipped = views.result("MM-EVICT-001", Status.SKIPPED, "not observable")
    linked = views.report(views.result("MM-STORE-001", Status.PASSED, "2 checks"), warned, skipped)
    linked = linked.with_links(DOCS)
    text = junit_xml(linked)
    junit_schema.validate(text)
    root = ET.fromstring(text)
    by_name = cases(root)
    assert by_name["MM-SEC-002"].find("failure") is None
    out = by_name["MM-SEC-002"].findtext("system-out") or ""
    assert out.startswith("warning (SHOULD")
    assert "secret\\x00" in out and "\\x1b[0m" in out and "\\ud800" in out
    assert by_name["MM-EVICT-001"].find("skipped") is not None
    assert requirement_url("MM-STORE-001", linked.spec_version, DOCS) in (
        by_name["MM-STORE-001"].findtext("system-out") or ""
    )
    suite = root.find("testsuite")
    assert suite is not None and suite.attrib["failures"] == "0"
    assert suite.attrib["skipped"] == "1" and suite.attrib["tests"] == "3"


def test_the_run_notes_go_to_the_suite_output(junit_schema: xmlschema.XMLSchema) -> None:
    noted = views.report(
        views.result("MM-STORE-001", Status.PASSED, "2 checks"),
        notes=("the run reached --max-time",),
    )
    text = junit_xml(noted)
    junit_schema.validate(text)
    suite = ET.fromstring(text).find("testsuite")
    assert suite is not None
    assert suite.findtext("system-out") == "note: the run reached --max-time\n"


def test_reports_without_links_render_as_before() -> None:
    plain = views.report(
        views.result("MM-STORE-002", Status.FAILED, "expected ['a', 'b'], got ['b']")
    )
    assert plain.spec_url is None
    assert "| `MM-STORE-002` |" in markdown(plain)
    assert "<a " not in badge_svg(plain)


def test_the_docs_address_comes_from_the_argument_the_environment_or_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DOCS_URL_ENV, raising=False)
    assert docs_base_url() == DEFAULT_DOCS_URL
    monkeypatch.setenv(DOCS_URL_ENV, "http://127.0.0.1:8000")
    assert docs_base_url() == "http://127.0.0.1:8000/"
    assert docs_base_url(DOCS) == DOCS + "/"
    with pytest.raises(ValueError, match="docs_url must be an http"):
        docs_base_url("docs.example.test")
    monkeypatch.setenv(DOCS_URL_ENV, "nowhere")
    with pytest.raises(ValueError, match=DOCS_URL_ENV):
        docs_base_url()


def test_the_default_docs_address_is_the_sites_own() -> None:
    config = (ROOT / "mkdocs.yml").read_text("utf-8")
    assert f"site_url: {DEFAULT_DOCS_URL}\n" in config


def test_measured_limits_are_junit_properties(junit_schema: xmlschema.XMLSchema) -> None:
    shown = views.report(views.FAILED).model_copy(update={"limits": views.LIMITS})
    text = junit_xml(shown)
    junit_schema.validate(text)
    properties = {p.attrib["name"]: p.attrib["value"] for p in ET.fromstring(text).iter("property")}
    for label, value in views.LIMITS.rows():
        assert properties[f"limit: {label}"] == value
