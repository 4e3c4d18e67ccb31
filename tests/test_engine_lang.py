"""The rule language rejects bad rule files at pack load time, with Chinese messages naming the file."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from checker.engine import load_pack
from checker.engine.resources import packs_dir
from checker.errors import PackError

SRC = packs_dir() / "gz165"


@pytest.fixture()
def pack_dir(tmp_path: Path) -> Path:
    d = tmp_path / "p"
    shutil.copytree(SRC, d)
    return d


def _edit(d: Path, rule: str, old: str, new: str) -> None:
    f = d / f"{rule}.yaml"
    text = f.read_text(encoding="utf-8")
    assert old in text, old
    f.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_pack_loads():
    pack = load_pack("gz165")
    assert [r.id for r in pack.rules][:3] == ["GZ165-08-1", "GZ165-08-2", "GZ165-08-3"]
    assert pack.params_used()["GZ165-08-2"] == {"limit_wd": 15}
    assert pack.params_used()["GZ165-19-1"] == {"limit_hours": 24}
    info = pack.rule_info()
    assert list(info.columns) == ["rule_id", "article", "article_text", "title", "explanation", "severity",
                                  "dimension", "inputs"]
    assert len(info) == 31 and info["article_text"].str.len().min() > 10
    # folded YAML prose is shown without spaces between Chinese characters
    assert not info["explanation"].str.contains(r"[^\x00-\x7f] [^\x00-\x7f]").any()
    assert info.set_index("rule_id").loc["GZ165-22-1", "inputs"] == "catalog、items、departments"


@pytest.mark.parametrize("rule,old,new,words", [
    ("GZ165-10-4", "when: missing(共享依据)", "when: missing(共享依具)", ["GZ165-10-4.yaml", "列「共享依具」", "不存在"]),
    ("GZ165-10-4", "when: missing(共享依据)", "when: blank(共享依据)", ["函数「blank」未知"]),
    ("GZ165-10-4", "when: missing(共享依据)", "when: 共享依据.strip() == ''", ["不允许属性访问"]),
    ("GZ165-10-4", "when: missing(共享依据)", "when: __import__('os')", ["函数「__import__」未知"]),
    ("GZ165-10-4", "when: missing(共享依据)", "when: \"(lambda: 1)()\"", ["只能调用函数名"]),
    ("GZ165-10-4", "when: missing(共享依据)", "when: missing(共享依据", ["无法解析"]),
    ("GZ165-10-4", "when: missing(共享依据)", "when: missing(共享依据, 共享条件)", ["missing 需要 1 个参数"]),
    ("GZ165-10-4", "when: missing(共享依据)", "when: \"[x for x in 共享依据]\"", ["语法「ListComp」不允许"]),
    ("GZ165-10-1", "codelist('共享类型')", "codelist('共享类别')", ["未知的代码表「共享类别」"]),
    ("GZ165-10-1", "codelist('共享类型')", "codelist(共享类型)", ["第一个参数应为带引号的名称"]),
    ("GZ165-10-4", "when: missing(共享依据)\n", "", ["缺少必填字段「when」"]),
    ("GZ165-10-4", "key: \"{信息资源代码}\"\n", "", ["缺少必填字段「key」"]),
    ("GZ165-10-4", "severity: 严重", "severity: 很严重", ["严重程度「很严重」无效"]),
    ("GZ165-10-4", "view: catalog", "view: catalogue", ["视图「catalogue」未知"]),
    ("GZ165-10-4", "scope: 共享类型", "scop: 共享类型", ["未知字段「scop」"]),
    ("GZ165-08-2", 'limit: "${limit_wd}"', 'limit: "${limit_days}"', ["未定义的参数「limit_days」"]),
    ("GZ165-08-2", "value: 15, unit", "value: 十五, unit", ["deadline.limit 应为非负整数"]),
    ("GZ165-08-2", "unit: 工作日}", "unit: 天}", ["deadline.unit「天」无效"]),
    ("GZ165-08-2", "department: 部门", "department: 部门名称", ["department 的列「部门名称」"]),
    ("GZ165-10-3", "缺少{labels(", "缺少{labelz(", ["函数「labelz」未知"]),
    ("GZ165-19-3", "开始后的 ${window_wd} 个", "开始后的 ${window} 个", ["未定义的参数「window」"]),
    ("GZ165-10-4", "inputs: [catalog]", "inputs: [catalogue]", ["inputs 中的表「catalogue」未知"]),
])
def test_bad_rule_file_rejected(pack_dir, rule, old, new, words):
    _edit(pack_dir, rule, old, new)
    with pytest.raises(PackError) as e:
        load_pack(pack_dir)
    msg = str(e.value)
    for w in words:
        assert w in msg, msg
    assert "Traceback" not in msg and "\n" not in msg


def test_yaml_syntax_error_names_file_and_line(pack_dir):
    (pack_dir / "GZ165-10-4.yaml").write_text("id: GZ165-10-4\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(PackError, match=r"GZ165-10-4\.yaml.*第 \d+ 行.*格式错误"):
        load_pack(pack_dir)


def test_rule_file_not_in_manifest(pack_dir):
    shutil.copy(pack_dir / "GZ165-10-4.yaml", pack_dir / "GZ165-99-9.yaml")
    with pytest.raises(PackError, match="GZ165-99-9 未列入 pack.yaml"):
        load_pack(pack_dir)


def test_yaml_is_data_not_code(pack_dir):
    _edit(pack_dir, "GZ165-10-4", "params: {}", "params: !!python/object/apply:os.system ['true']")
    with pytest.raises(PackError, match="格式错误"):
        load_pack(pack_dir)


def _params(tmp_path, text):
    f = tmp_path / "params.yaml"
    f.write_text(text, encoding="utf-8")
    return f


def test_params_override(tmp_path):
    pack = load_pack("gz165", _params(tmp_path, "GZ165-08-2: {limit_wd: 20}\nGZ165-19-1: {limit_hours: 12}\n"))
    assert pack.params_used()["GZ165-08-2"] == {"limit_wd": 20}
    assert pack.params_used()["GZ165-19-1"] == {"limit_hours": 12}
    assert pack.params_used()["GZ165-08-3"] == {"limit_wd": 15}


def test_params_json(tmp_path):
    f = tmp_path / "p.json"
    f.write_text('{"GZ165-REQ-1": {"limit_wd": 7}}', encoding="utf-8")
    assert load_pack("gz165", f).params_used()["GZ165-REQ-1"] == {"limit_wd": 7}


@pytest.mark.parametrize("text,words", [
    ("GZ165-08-9: {limit_wd: 20}\n", ["规则「GZ165-08-9」不存在"]),
    ("GZ165-08-2: {limit_days: 20}\n", ["没有参数「limit_days」", "limit_wd"]),
    ("GZ165-08-2: {limit_wd: '20'}\n", ["参数「limit_wd」应为整数"]),
    ("GZ165-08-2: {limit_wd: true}\n", ["参数「limit_wd」应为整数"]),
    ("GZ165-08-2: {limit_wd: 2.5}\n", ["参数「limit_wd」应为整数"]),
    ("GZ165-08-2: {limit_wd: -1}\n", ["deadline.limit 应为非负整数"]),
    ("- GZ165-08-2\n", ["参数文件"]),
])
def test_bad_params_file(tmp_path, text, words):
    with pytest.raises(PackError) as e:
        load_pack("gz165", _params(tmp_path, text))
    for w in words:
        assert w in str(e.value), str(e.value)


def test_unknown_pack():
    with pytest.raises(PackError, match="找不到规则包「nosuch」"):
        load_pack("nosuch")
