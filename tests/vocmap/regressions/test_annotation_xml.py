"""Regressions: annotation XML read as the devkit reads it, or refused (issue 10, item 5).

``<xmin>2<!-- -->00</xmin>`` and ``2&zero;&zero;`` read as 2, a root other than
``<annotation>`` was an image without objects, ``2_00`` and Arabic-Indic digits
read as 200, a TAB inside ``<name>`` made another class: all with exit 0. Each is
now an error naming the file and the line (exit 2, no output), and the values
the devkit reads the same way still give the same number.
"""

from __future__ import annotations

import pytest
from case_builder import cat, dog, make_case
from cli_check import PERFECT_AP, expect_failure, expect_success

RESULTS = {"dog": "000001 0.9 10 10 50 50\n", "cat": "000002 0.8 100 100 150 150\n"}


@pytest.fixture
def case(tmp_path):
    voc_root, results = make_case(
        tmp_path / "case", {"000001": [dog()], "000002": [cat()]}, RESULTS
    )
    return voc_root, results, voc_root / "Annotations" / "000002.xml"


def edit(xml, old, new):
    text = xml.read_text()
    assert old in text
    xml.write_text(text.replace(old, new, 1))


def line_of(xml, fragment):
    return next(k for k, text in enumerate(xml.read_text().splitlines(), 1) if fragment in text)


def cli(voc_root, results):
    return [results, "--voc-root", voc_root, "--classes", "dog", "cat", "--no-cache"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1<!-- -->00", "<xmin> contains a comment"),
        ("1<b>0</b>0", "<xmin> contains an element <b>"),
        ("1<?pi x?>00", "<xmin> contains a processing instruction"),
        ("1&#48;0", "<xmin> contains the reference &#48;"),
        ("1&#x30;0", "<xmin> contains the reference &#x30;"),
        ("<![CDATA[100]]>", "<xmin> contains a CDATA section"),
        ("1_00", "<xmin> is not a number: '1_00'"),
        ("\u0661\u0660\u0660", "<xmin> is not a number"),  # Arabic-Indic 100
        ("\uff11\uff10\uff10", "<xmin> is not a number"),  # full-width 100
        ("1,00", "<xmin> is not a number: '1,00'"),
        ("1 00", "contains U+0020 (SPACE)"),
        ("1\t00", "contains U+0009 (TAB); the devkit deletes TAB, CR and LF"),
        ("0x64", "<xmin> is not a number"),
        ("Infinity", "<xmin> is not finite"),
    ],
)
def test_a_coordinate_is_plain_ascii_decimal_text_or_an_error(
    tmp_path, capsys, case, value, problem
):
    voc_root, results, xml = case
    edit(xml, "<xmin>100</xmin>", f"<xmin>{value}</xmin>")
    expect_failure(
        capsys,
        tmp_path / "out",
        cli(voc_root, results),
        f"000002.xml:{line_of(xml, '<xmin>')}: <xmin>",
        problem,
    )


def test_an_undefined_entity_is_malformed_xml(tmp_path, capsys, case):
    voc_root, results, xml = case
    edit(xml, "<xmin>100</xmin>", "<xmin>1&zero;&zero;</xmin>")
    expect_failure(
        capsys,
        tmp_path / "out",
        cli(voc_root, results),
        f"000002.xml:{line_of(xml, '<xmin>')}: malformed XML: Entity 'zero' not defined",
    )


def test_a_declared_entity_is_not_substituted_into_a_coordinate(tmp_path, capsys, case):
    voc_root, results, xml = case
    xml.write_text('<!DOCTYPE annotation [<!ENTITY zero "0">]>\n' + xml.read_text())
    edit(xml, "<xmin>100</xmin>", "<xmin>1&zero;&zero;</xmin>")
    expect_failure(
        capsys,
        tmp_path / "out",
        cli(voc_root, results),
        f"000002.xml:{line_of(xml, '<xmin>')}: <xmin> contains an entity reference &zero;",
    )


@pytest.mark.parametrize("root", ["annotations", "Annotation", "x:annotation"])
def test_a_root_other_than_annotation_is_an_error_not_an_empty_image(tmp_path, capsys, case, root):
    voc_root, results, xml = case
    text = (
        xml.read_text().replace("<annotation>", f"<{root}>").replace("</annotation>", f"</{root}>")
    )
    if ":" in root:
        text = text.replace(f"<{root}>", f'<{root} xmlns:x="urn:x">', 1)
    xml.write_text(text)
    expect_failure(
        capsys,
        tmp_path / "out",
        cli(voc_root, results),
        "000002.xml:1: the root element is <",
        "not <annotation>",
    )


@pytest.mark.parametrize(
    ("name", "character", "devkit"),
    [
        ("c\tat", "U+0009 (TAB)", "'cat'"),
        ("c\rat", "U+000A (LINE FEED)", "'cat'"),  # XML reads a CR as LF
        ("ca\nt", "U+000A (LINE FEED)", "'cat'"),
    ],
)
def test_a_tab_cr_or_lf_inside_a_name_is_refused_saying_what_the_devkit_reads(
    tmp_path, capsys, case, name, character, devkit
):
    voc_root, results, xml = case
    line = line_of(xml, "<name>cat</name>")
    xml.write_bytes(xml.read_bytes().replace(b"<name>cat</name>", f"<name>{name}</name>".encode()))
    expect_failure(
        capsys,
        tmp_path / "out",
        cli(voc_root, results),
        f"000002.xml:{line}: <name>",
        f"contains {character}",
        f"the devkit deletes TAB, CR and LF from the whole file before parsing and would read {devkit}",
    )


@pytest.mark.parametrize(
    ("name", "character"),
    [("cat\u00a0", "U+00A0 (NO-BREAK SPACE)"), ("c\u200bat", "U+200B"), ("\x1b[31mcat", "U+001B")],
)
def test_an_invisible_or_control_character_in_a_name_is_refused(
    tmp_path, capsys, case, name, character
):
    voc_root, results, xml = case
    edit(xml, "<name>cat</name>", f"<name>{name}</name>".replace("\x1b", "&#27;"))
    if "\x1b" in name:  # XML 1.0 cannot hold ESC, even as a reference: malformed
        character = "malformed XML"
    expect_failure(capsys, tmp_path / "out", cli(voc_root, results), "000002.xml:", character)


@pytest.mark.parametrize("field", ["name", "difficult", "bndbox"])
def test_an_object_with_a_field_twice_is_an_error(tmp_path, capsys, case, field):
    voc_root, results, xml = case
    copies = {
        "name": "<name>cat</name>",
        "difficult": "<difficult>0</difficult>",
        "bndbox": "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox>",
    }
    edit(xml, "</object>", copies[field] + "</object>")
    expect_failure(
        capsys, tmp_path / "out", cli(voc_root, results), f"<object> has a second <{field}>"
    )


def test_what_the_devkit_reads_alike_gives_the_same_number(tmp_path, capsys, case):
    """Blank space around values (the devkit deletes TAB/CR/LF and trims), comments
    and references outside the fields read, an owner's name with &amp;."""
    voc_root, results, xml = case
    edit(xml, "<name>cat</name>", "<name>\n\t\tcat \n\t</name>")
    edit(xml, "<xmin>100</xmin>", "<xmin>\r\n 100.0\t</xmin>")
    edit(xml, "<ymax>150</ymax>", "<ymax> 1.5e2 </ymax>")
    edit(xml, "<folder>VOC2007</folder>", "<folder>V&#79;C<!-- x --></folder>")
    edit(xml, "<segmented>", "<owner><name>Tom &amp; Jerry</name></owner><segmented>")
    data, _ = expect_success(capsys, tmp_path / "out", cli(voc_root, results))
    assert data["classes"]["cat"]["ap"] == PERFECT_AP
    assert data["classes"]["cat"]["npos"] == 1
    assert data["classes"]["dog"]["ap"] == PERFECT_AP


def test_an_external_entity_is_never_read(tmp_path, capsys, case):
    voc_root, results, xml = case
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xml.write_text(
        f'<!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file://{secret}">]>\n' + xml.read_text()
    )
    edit(xml, "<name>cat</name>", "<name>&xxe;</name>")
    line = expect_failure(
        capsys, tmp_path / "out", cli(voc_root, results), "<name> contains an entity reference"
    )
    assert "TOPSECRET" not in line


def test_billion_laughs_is_refused_quickly(tmp_path, capsys, case):
    voc_root, results, xml = case
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{k} "{(f"&lol{k - 1};" if k > 1 else "&lol;") * 10}">' for k in range(1, 10)
    )
    xml.write_text(f"<!DOCTYPE annotation [{entities}]>\n" + xml.read_text())
    edit(xml, "<folder>VOC2007</folder>", "<folder>&lol9;</folder>")
    expect_failure(capsys, tmp_path / "out", cli(voc_root, results), "000002.xml:")
