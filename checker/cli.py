"""The ``sharecheck`` command (outputs.md "The command").

Exit status: 0 finished; 1 only with ``--fail-on`` when a counted (not waived) finding of that severity or
worse exists; 2 bad usage or unreadable/invalid input (one Chinese line ``错误：…`` on stderr, nothing
written); 3 an internal error (one Chinese line naming a debug log with the traceback; ``SHARECHECK_DEBUG=1``
prints the traceback instead); 130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import os
import re
import sys
import traceback
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import click

from . import __version__
from .errors import SharecheckError, UsageError

EXIT_OK, EXIT_FAIL_ON, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

CONTEXT = {"help_option_names": [], "max_content_width": 100}
_help = click.help_option("-h", "--help", help="显示帮助 (show help)")

EXIT_CODES_HELP = ("\b\n退出码：\n"
                   "  0    运行完成（有问题也是 0，除非用了 --fail-on）\n"
                   "  1    用了 --fail-on，且存在该级别或更严重的未豁免问题\n"
                   "  2    用法错误，或输入无法读取/不合格（一行「错误：…」，不写出任何文件）\n"
                   "  3    程序内部错误（会提示调试日志的位置，请发给维护人员）\n"
                   "  130  被 Ctrl-C 中断")


# ---------------------------------------------------------------------------------------------------- output
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_cell: int = 40) -> str:
    """A small plain-text table (wide characters counted as two columns)."""
    def cell(v: Any) -> str:
        if v is None:
            return ""
        try:
            import pandas as pd
            if pd.isna(v):
                return ""
        except (TypeError, ValueError):
            pass
        t = " ".join(str(v).split())
        return t if _width(t) <= max_cell else t[: max_cell // 2 - 1] + "…"
    body = [[cell(v) for v in r] for r in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in body]) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(_pad(h, w) for h, w in zip(headers, widths)).rstrip(), line]
    out += ["  ".join(_pad(c, w) for c, w in zip(r, widths)).rstrip() for r in body]
    return "\n".join(out)


def _interactive() -> bool:
    """Progress bars only on a terminal, never in CI."""
    if os.environ.get("CI"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Bar:
    """A stage progress bar on stderr (terminal only)."""

    def __init__(self, stages: list[str], enabled: bool):
        self.stages, self.enabled, self.done, self.bar = stages, enabled, 0, None
        self.width = max(_width(s) for s in stages)
        if enabled:
            self.bar = click.progressbar(length=len(stages), label=_pad(stages[0], self.width), file=sys.stderr,
                                         width=30,
                                         show_eta=False, show_percent=True)
            self.bar.__enter__()

    def __call__(self, stage: str) -> None:
        if self.bar is None:
            return
        i = self.stages.index(stage) if stage in self.stages else self.done
        if i > self.done:
            self.bar.update(i - self.done)
            self.done = i
        self.bar.label = _pad(stage, self.width)
        self.bar.render_progress()

    def close(self, finished: bool = True) -> None:
        """Fill the bar when the run finished; on an error or Ctrl-C leave it where it stopped."""
        if self.bar is not None:
            if finished:
                self.bar.update(len(self.stages) - self.done)
            self.bar.__exit__(None, None, None)
            self.bar = None


# ---------------------------------------------------------------------------------------------------- help text
_HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}
_EXTRA = re.compile(r"\s*\[([^\[\]]*)\]\s*$")


def _extra_text(extra: str) -> str:
    """click's ``[default: x; required]`` in Chinese."""
    parts = []
    for item in extra.split("; "):
        if item == "required":
            parts.append("必填")
        elif item.startswith("default: "):
            parts.append("默认 " + item[len("default: "):])
        else:
            m = re.fullmatch(r"\s*(\S+?)<=x<=(\S+)\s*", item)
            parts.append(f"{m[1]}–{m[2]}" if m else item.replace("x>=", "≥").replace("x<=", "≤"))
    return "[" + "；".join(parts) + "]"


def _wrap(text: str, width: int) -> list[str]:
    """Greedy wrap by display width (a CJK character is two columns): breaks at spaces, or between wide
    characters; an ASCII word longer than the line is cut."""
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        line = ""
        for unit in re.findall(r"[^\s\u1100-\uffff]+\s*|[\u1100-\uffff]\s*|\s+", para):
            if line and _width((line + unit).rstrip()) > width:
                lines.append(line.rstrip())
                line = unit.lstrip()
            else:
                line += unit
            while _width(line.rstrip()) > width:        # a single ASCII word wider than the line
                cut = next(i for i in range(1, len(line) + 1) if _width(line[:i]) > width) - 1
                lines.append(line[:max(cut, 1)])
                line = line[max(cut, 1):]
        lines.append(line.rstrip())
    return lines


class _Formatter(click.HelpFormatter):
    """click's help layout in Chinese, with columns aligned by display width."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{_HEADINGS.get(heading, heading)}：\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(first, _EXTRA.sub(lambda m: "  " + _extra_text(m[1]), second or "")) for first, second in rows]
        first_w = min(max((_width(f) for f, _ in rows), default=0), col_max)
        first_col = first_w + col_spacing
        text_width = max(self.width - first_col - self.current_indent - 2, 20)
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if _width(first) <= first_w:
                self.write(" " * (first_col - _width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = _wrap(second, text_width)
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(" " * (first_col + self.current_indent) + line + "\n")


class _Context(click.Context):
    formatter_class = _Formatter


class _Command(click.Command):
    context_class = _Context

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)


class _Group(click.Group):
    context_class = _Context
    command_class = _Command

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "命令 [参数]...")
        super().__init__(*args, **kwargs)


# ---------------------------------------------------------------------------------------------------- command
@click.group(cls=_Group, context_settings=CONTEXT, epilog=EXIT_CODES_HELP, help="广州市政务信息共享合规检查（《广州市政务信息共享管理规定》市政府令第165号）。\n\n"
             "\b\n常用：sharecheck template → sharecheck validate 导出文件夹 → sharecheck run 导出文件夹 --period 2026-10\n"
             "每个命令的说明：sharecheck 命令 --help")
@_help
@click.version_option(__version__, "--version", "-V", prog_name="sharecheck", message="%(prog)s %(version)s",
                      help="显示版本号 (show the version)")
def cli() -> None:
    pass


@cli.command("run", context_settings=CONTEXT, epilog=EXIT_CODES_HELP,
             short_help="检查一个审计期间，生成报告 (run an audit)")
@_help
@click.argument("inputs", nargs=-1, type=click.Path(path_type=str), metavar="INPUT...")
@click.option("--period", required=True, metavar="P", help="审计期间：YYYY-MM（如 2026-10）或 YYYY-Qn（如 2026-Q4）")
@click.option("--as-of", "as_of", metavar="D", help="基准日 YYYY-MM-DD，须在审计期间内；默认期间最后一天")
@click.option("--pack", default="gz165", show_default=True, metavar="NAME", help="规则包名称或文件夹 (rule pack)")
@click.option("--params", type=click.Path(path_type=str), metavar="FILE",
              help="本次运行的参数覆盖文件（YAML），如修改期限天数 (parameter overrides)")
@click.option("--calendar", type=click.Path(path_type=str), metavar="FILE",
              help="工作日历文件（CSV/XLSX：日期、类型），补充内置日历未覆盖的年份")
@click.option("--waivers", type=click.Path(path_type=str), metavar="FILE", help="豁免清单（.xlsx 工作表「豁免」或 .csv）")
@click.option("--history", type=click.Path(path_type=str), metavar="DB", help="历史库（SQLite 文件，不存在则新建），用于整改跟踪")
@click.option("--out", type=click.Path(path_type=str), metavar="DIR", help="输出文件夹；默认 ./审计结果/<期间>/")
@click.option("--fail-on", "fail_on", type=click.Choice(["严重", "一般"]), metavar="严重|一般",
              help="存在该严重程度或更严重的未豁免问题时，退出码为 1（用于自动化流程）")
@click.option("--table", "tables", multiple=True, metavar="NAME=PATH[:SHEET]",
              help="指定某张表的来源，如 exchanges=交换日志.csv 或 catalog=目录.xlsx:信息资源；可重复")
@click.option("--format", "formats", multiple=True, metavar="FORMAT",
              type=click.Choice(["xlsx", "dept_xlsx", "html", "csv", "json"]),
              help="只写出这些报告（可重复；默认全部）：xlsx 审计报告，dept_xlsx 部门报告，html，csv，json")
@click.option("--engine", type=click.Choice(["pandas", "dask"]), default="pandas", show_default=True,
              help="计算引擎：pandas（单进程）或 dask（分片读取交换日志、更新记录；结果与 pandas 完全相同）")
@click.option("--scheduler", metavar="ADDRESS", help="已有的 Dask 调度器地址，如 tcp://10.0.0.5:8786（仅 --engine dask；"
              "不给则在本机启动与 CPU 核数相同的工作进程）")
@click.option("--partition-rows", "partition_rows", type=int, metavar="N",
              help="dask 引擎每个分片的最大行数（Parquet 分片按此切分；默认 1000000）")
@click.option("--quiet", "-q", is_flag=True, help="不显示进度条和摘要 (no progress, no summary)")
def run_cmd(inputs, period, as_of, pack, params, calendar, waivers, history, out, fail_on, tables, formats, engine,
            scheduler, partition_rows, quiet):
    """检查 INPUT...（文件和/或文件夹）中的导出数据，写出审计报告。

    \b
    示例：
      sharecheck run 导出/2026-10 --period 2026-10
      sharecheck run 导出/2026-10 --period 2026-10 --waivers 豁免.xlsx --history 历史.db
      sharecheck run 导出/2026-10 --period 2026-10 --format xlsx --format csv
    """
    from .pipeline import STAGES, run
    bar = _Bar(STAGES, enabled=_interactive() and not quiet)
    try:
        outcome = run(list(inputs), period, as_of=as_of, pack=pack, params=params, calendar=calendar,
                      waivers=waivers, history=history, out=out, overrides=list(tables),
                      formats=list(formats) or None, progress=bar, engine=engine, scheduler=scheduler,
                      partition_rows=partition_rows)
    except BaseException:
        bar.close(finished=False)
        raise
    bar.close()
    if not quiet:
        from .text import terminal_safe
        click.echo(terminal_safe(_summary(outcome)))
    for notice in getattr(outcome, "notices", None) or []:      # shown even with -q: older reports are stale
        click.echo(f"注意：{notice}", err=True)
    if outcome.fails(fail_on):
        click.echo(f"存在「{fail_on}」或更严重的未豁免问题（--fail-on {fail_on}），退出码 1", err=True)
        sys.exit(EXIT_FAIL_ON)


def _note_text(note) -> str:
    """An input's note as the command line says it: an unrecognised sheet gets the ``--table`` advice."""
    from .load.recognize import UNRECOGNISED
    text = str(note or "")
    return f"{text}；如需读取请用 --table 指定" if text == UNRECOGNISED else text


def _summary(outcome) -> str:
    r = outcome.report
    sc = r.scorecard
    n_dept = 0 if sc is None else len(sc)
    counts = outcome.counts_by_severity()
    lines = [f"审计期间 {r.period.label}（基准日 {r.as_of.isoformat()}），部门 {n_dept} 个。",
             "问题（未豁免）：" + "，".join(f"{k} {v}" for k, v in counts.items())
             + f"；已豁免 {outcome.waived_count()}。"]
    from .model import TABLE_TITLES
    empty = [t for t in ("departments", "catalog") if t in r.load.tables and not len(r.load.tables[t])]
    if empty:
        lines.append("注意：" + "、".join(f"「{TABLE_TITLES[t]}」" for t in empty)
                     + " 没有任何数据行（只有表头？），请检查输入文件。")
    unread = [i for i in (r.load.inputs or []) if not i.get("table")]
    if unread:
        lines.append(f"未读取的工作表/文件 {len(unread)} 个：")
        groups: dict[tuple[str, str], list[str]] = {}
        for i in unread:
            groups.setdefault((str(i.get("path")), _note_text(i.get("note"))), []).append(str(i.get("sheet") or ""))
        shown = 8
        for (path, note), sheets in list(groups.items())[:shown]:
            named = "、".join(f"「{x}」" for x in sheets if x)
            lines.append(f"  {path}{named}" + (f"：{note}" if note else ""))
        if len(groups) > shown:
            lines.append(f"  ……另有 {len(groups) - shown} 个文件（完整清单见 sharecheck validate 或报告「说明」）")
    nd = 0 if r.load.defects is None else len(r.load.defects)
    if nd:
        lines.append(f"输入问题 {nd} 条（单元格读不出、引用不存在、编号重复等，详见报告「输入问题」）。")
    nc = r.result.not_checked
    if nc is not None and len(nc):
        lines.append(f"未检查的规则 {nc['rule_id'].nunique()} 条（缺少输入，详见报告「未检查」）。")
    if r.previous_period:
        st = r.result.findings["status"].value_counts()
        lines.append(f"与 {r.previous_period} 相比：新增 {int(st.get('新增', 0))}，持续 {int(st.get('持续', 0))}，"
                     f"已整改 {0 if r.resolved is None else len(r.resolved)}。")
    worst = outcome.worst(5)
    if len(worst):
        lines.append("得分最低的部门：")
        rows = []
        for _, w in worst.iterrows():
            import pandas as pd
            score, grade = w.get("score"), w.get("grade")
            shown = "无法评分" if score is None or pd.isna(score) else f"{float(score):.1f}"
            rows.append([w["department"], shown, "" if grade is None or pd.isna(grade) else str(grade)])
        lines.append(_indent(format_table(["部门", "得分", "等级"], rows, max_cell=60)))
    if outcome.out_dir is not None:
        lines.append(f"报告已写入：{outcome.out_dir}")
    return "\n".join(lines)


@cli.command("rules", context_settings=CONTEXT, short_help="列出规则包的全部规则 (list rules)")
@_help
@click.option("--pack", default="gz165", show_default=True, metavar="NAME", help="规则包名称或文件夹")
@click.option("--params", type=click.Path(path_type=str), metavar="FILE", help="参数覆盖文件（显示覆盖后的值）")
def rules_cmd(pack, params):
    """列出每条规则：编号、条款、名称、严重程度、参数及其取值。"""
    from .engine import load_pack
    from .pipeline import check_params_file
    check_params_file(params)
    p = load_pack(pack, params)
    info = p.rule_info()
    used = p.params_used() or {}
    m = p.manifest
    click.echo(f"{m.get('title', m.get('pack', pack))}  版本 {m.get('version', '')}".strip())
    rows = [(r.rule_id, r.article, r.title, r.severity, _params_text(used.get(r.rule_id)))
            for r in info.itertuples(index=False)]
    click.echo(format_table(["规则编号", "条款", "名称", "严重程度", "参数"], rows, max_cell=60))
    click.echo(f"共 {len(rows)} 条规则。用 sharecheck explain 规则编号 查看详细说明。")


def _params_text(params: dict | None) -> str:
    if not params:
        return ""
    return "，".join(f"{k}={_value_text(v)}" for k, v in params.items())


def _value_text(v: Any) -> str:
    from .text import value_text
    return value_text(v)


@cli.command("explain", context_settings=CONTEXT, short_help="解释一条规则 (explain a rule)")
@_help
@click.argument("rule_id", metavar="RULE-ID")
@click.option("--pack", default="gz165", show_default=True, metavar="NAME", help="规则包名称或文件夹")
@click.option("--params", type=click.Path(path_type=str), metavar="FILE", help="参数覆盖文件")
def explain_cmd(rule_id, pack, params):
    """显示规则的条款原文、含义、参数，以及合规/不合规的示例。"""
    from .engine import load_pack
    from .pipeline import check_params_file
    check_params_file(params)
    p = load_pack(pack, params)
    info = p.rule_info()
    want = unicodedata.normalize("NFKC", rule_id).strip().upper()
    hit = info[info["rule_id"].str.upper() == want]
    if not len(hit):
        near = [r for r in info["rule_id"] if want.split("-")[-2:] == r.split("-")[-2:] or want in r]
        hint = f"（相近：{'、'.join(near[:5])}）" if near else ""
        raise UsageError(f"规则「{rule_id}」不存在{hint}：用 sharecheck rules 查看全部规则编号")
    r = hit.iloc[0]
    out = [f"{r['rule_id']}  {r['title']}", f"条款：第 {r['article']}" if r["article"] and str(r["article"])[0].isdigit()
           else f"条款：{r['article']}", f"严重程度：{r['severity']}    评分维度：{r.get('dimension') or '—'}",
           f"需要的输入：{_value_text(r['inputs']) if r.get('inputs') is not None else '—'}", ""]
    if r.get("article_text"):
        out += ["条款原文：", _indent(str(r["article_text"])), ""]
    if r.get("explanation"):
        out += ["含义：", _indent(str(r["explanation"])), ""]
    used = (p.params_used() or {}).get(r["rule_id"]) or {}
    if used:
        info = p.param_info().get(r["rule_id"], {}) if hasattr(p, "param_info") else {}
        out += ["参数（可在规则包的 <规则编号>.yaml 或 --params 中修改）："]
        for k, v in used.items():
            i = info.get(k, {})
            what = "：" + "，".join(x for x in (i.get("label"), i.get("description")) if x) if i else ""
            out.append(f"  {k} = {_value_text(v)}{i.get('unit', '') if not isinstance(v, dict) else ''}{what}")
        out.append("")
    out += _derivation_lines(p, r["rule_id"])
    examples = _examples(p, r["rule_id"])
    if examples:
        out.append("示例：")
        for i, ex in enumerate(examples, 1):
            out += _render_example(i, ex)
    click.echo("\n".join(out).rstrip())


def _derivation_lines(pack, rule_id: str) -> list[str]:
    """The derivations a rule reads (its rule file's ``derivations``), each with its columns and documentation."""
    try:
        rule = pack.rule(rule_id)
    except (AttributeError, KeyError):
        return []
    from .engine.derivations import REGISTRY
    names = [n for n in rule.derivations if n in REGISTRY]
    if not names:
        return []
    out = ["派生（由 checker/engine/derivations/ 计算，规则文件 derivations 中列出）："]
    for n in names:
        d = REGISTRY[n]
        reads = [f"代码表 {'、'.join(d.codelists)}"] if d.codelists else []
        if d.classifier:
            reads.append("法律依据分类表 legal_basis.yaml")
        if d.params:
            reads.append(f"pack.yaml derivations.{n}")
        out.append(f"  {n}（{'视图 ' + d.view if d.is_view else '列'} {'、'.join(d.adds)}）"
                   + (f"，读取{'；'.join(reads)}" if reads else ""))
        out.append(_indent(d.summary, 4))
    out.append("")
    return out


def _indent(text: str, n: int = 2) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def _examples(pack, rule_id: str) -> list:
    """The rule's examples, whatever the shape of ``pack.rules`` (mapping or ordered list of rules)."""
    rules = getattr(pack, "rules", None)
    rule = None
    if isinstance(rules, dict):
        rule = rules.get(rule_id)
    elif rules is not None:
        for r in rules:
            rid = r.get("id") if isinstance(r, dict) else getattr(r, "id", getattr(r, "rule_id", None))
            if rid == rule_id:
                rule = r
                break
    if rule is None:
        return []
    ex = rule.get("examples") if isinstance(rule, dict) else getattr(rule, "examples", None)
    if ex is None and isinstance(getattr(rule, "data", None), dict):
        ex = rule.data.get("examples")
    if ex is None and hasattr(rule, "spec"):
        ex = (rule.spec or {}).get("examples")
    if ex is None and hasattr(rule, "raw"):
        ex = (rule.raw or {}).get("examples")
    if isinstance(ex, dict):
        out = []
        for kind, items in ex.items():
            for item in items or []:
                out.append({"类别": kind, **item} if isinstance(item, dict) else item)
        return out
    return list(ex or [])


_EXAMPLE_LABELS = {"period": "审计期间", "as_of": "基准日", "findings": "应记为问题的记录",
                   "pending": "列入待办的记录", "params": "参数", "note": "说明", "severity": "严重程度"}


def _render_example(i: int, ex: Any) -> list[str]:
    """An example: a mapping with a title, an expected outcome and records (table -> list of rows)."""
    if not isinstance(ex, dict):
        return [f"  {i}. {ex}"]
    title = ex.get("title") or ex.get("name") or ex.get("description") or ""
    expect = ex.get("expect", ex.get("result", ex.get("outcome")))
    if isinstance(expect, bool):
        expect = "合规" if expect else "不合规"
    elif isinstance(expect, (int,)) and not isinstance(expect, bool):
        expect = "合规" if expect == 0 else f"不合规（{expect} 个问题）"
    elif isinstance(expect, (list, dict)):
        expect = "不合规" if expect else "合规"
    lines = [f"  {i}. {title}" + (f" —— {expect}" if expect not in (None, "") else "")]
    skip = {"title", "name", "description", "expect", "result", "outcome"}
    for k, v in ex.items():
        if k in skip:
            continue
        tables = v if isinstance(v, dict) and all(isinstance(x, list) for x in v.values()) else (
            {k: v} if isinstance(v, list) and v and isinstance(v[0], dict) else None)
        if tables:
            for name, rows in tables.items():
                if not rows or not isinstance(rows[0], dict):
                    continue
                headers = list(dict.fromkeys(c for row in rows for c in row))
                from .model import TABLE_TITLES
                label = _EXAMPLE_LABELS.get(name) or (f"{TABLE_TITLES[name]}（{name}）" if name in TABLE_TITLES else name)
                lines.append(f"     {label}：")
                lines.append(_indent(format_table(headers, [[row.get(h) for h in headers] for row in rows]), 5))
        else:
            lines.append(f"     {_EXAMPLE_LABELS.get(k, k)}：{_value_text(v)}")
    return lines


@cli.command("validate", context_settings=CONTEXT, short_help="只检查输入文件，不运行规则 (validate inputs)")
@_help
@click.argument("inputs", nargs=-1, type=click.Path(path_type=str), metavar="INPUT...")
@click.option("--table", "tables", multiple=True, metavar="NAME=PATH[:SHEET]", help="指定某张表的来源；可重复")
@click.option("--limit", default=20, show_default=True, metavar="N", type=click.IntRange(0), help="列出的输入问题条数上限")
@click.option("--pack", default="gz165", show_default=True, metavar="NAME", help="规则包名称或文件夹（其代码表用于检查输入）")
def validate_cmd(inputs, tables, limit, pack):
    """读取 INPUT...，报告识别到的表、行数和输入问题（不运行规则）。无法读取时退出码 2。"""
    from .engine import load_pack
    from .model import TABLE_TITLES
    from .pipeline import load, require_tables
    from .schema import restore_codelists, use_codelists
    from .text import terminal_safe

    def echo(text: str) -> None:
        click.echo(terminal_safe(text))

    before = use_codelists(load_pack(pack).codelists)
    try:
        lr = load(list(inputs), list(tables), require=False)
    finally:
        restore_codelists(before)
    rows = [(TABLE_TITLES.get(i.get("table") or i.get("template_of") or i.get("part_of"), i.get("table")) or "未识别", i.get("table") or "",
             i.get("path"),
             i.get("sheet") or "", i.get("rows"), _note_text(i.get("note"))) for i in lr.inputs]
    echo("识别到的表：")
    echo(format_table(["表", "表名", "文件", "工作表", "行数", "说明"], rows, max_cell=90))
    absent = [f"{TABLE_TITLES[t]}（{t}）" for t in TABLE_TITLES if t not in lr.tables]
    if absent:
        echo(f"未提供的表（需要它们的规则将列为「未检查」）：{'、'.join(absent)}")
    empty = [t for t in ("departments", "catalog") if t in lr.tables and not len(lr.tables[t])]
    if empty:            # as ``run`` says it (issue 8, C5)
        echo("注意：" + "、".join(f"「{TABLE_TITLES[t]}」" for t in empty)
             + " 没有任何数据行（只有表头？），请检查输入文件。")
    d = lr.defects
    n = 0 if d is None else len(d)
    missing_required = False
    try:
        require_tables(lr, inputs)
    except SharecheckError as e:
        missing_required = e
    echo(f"输入问题：{n} 条。")
    if n and limit:
        shown = d.head(limit)
        echo(format_table(["表", "文件", "工作表", "行", "列", "内容", "问题"],
                                [[TABLE_TITLES.get(r.table, r.table), r.file, r.sheet, r.row, r.column, r.value,
                                  r.problem] for r in shown.itertuples(index=False)], max_cell=70))
        if n > limit:
            echo(f"……另有 {n - limit} 条未列出（完整清单见运行后报告的「输入问题」工作表，或用 --limit 调大）。")
    _validate_unknown_departments(d)
    if missing_required:
        raise missing_required


def _validate_unknown_departments(d) -> None:
    """issue 8 C2: names not in 部门名录, with how many input rows name them and where (one line each)."""
    import pandas as pd
    from .load.references import PROBLEM_DEPT
    from .model import TABLE_TITLES
    if d is None or not len(d):
        return
    ref = d[d["problem"].astype(str) == PROBLEM_DEPT]
    if not len(ref):
        return
    name = ref["value"].astype(str)
    where = (ref["table"].map(lambda t: TABLE_TITLES.get(t, t)) + "「" + ref["column"].astype(str) + "」")
    g = pd.DataFrame({"name": name, "where": where}).groupby("name", sort=True)
    rows = [[n, int(len(x)), "、".join(sorted(set(x["where"])))] for n, x in g]
    from .text import terminal_safe
    click.echo(f"部门名录中没有的部门：{len(rows)} 个（请核对名称；问题归于这样的部门时不计分、不排名，也不生成部门报告）：")
    click.echo(terminal_safe(format_table(["部门名称", "行数", "出现在"], rows, max_cell=70)))


@cli.group("packs", context_settings=CONTEXT, invoke_without_command=True,
           short_help="列出已安装的规则包；packs diff 比较两个规则包 (rule packs)")
@click.pass_context
def packs_cmd(ctx):
    """列出已安装的规则包：名称、标题、版本、状态、上级规则包和规则数。

    sharecheck packs diff A B：逐条比较两个规则包（名称或文件夹）的规则。"""
    if ctx.invoked_subcommand is not None:
        return
    from .engine import load_pack
    from .engine.resources import packs_dir
    rows = []
    for d in sorted(p for p in packs_dir().iterdir() if (p / "pack.yaml").is_file()):
        try:
            p = load_pack(d.name)
        except SharecheckError as e:
            rows.append((d.name, f"（无法加载：{' '.join(str(e).split())}）", "", "", "", ""))
            continue
        m = p.manifest
        rows.append((d.name, m.get("title", ""), m.get("version", ""), m.get("status") or "",
                     " → ".join(c["pack"] for c in p.chain[1:]) or "—", len(p.rules)))
    click.echo(format_table(["规则包", "标题", "版本", "状态", "上级", "规则数"], rows, max_cell=60))
    click.echo("用 --pack 名称 或 --pack 文件夹 选用规则包；sharecheck packs diff A B 比较两个规则包；"
               "sharecheck pack new 文件夹 --extends gz165 新建自己的规则包。")


def _rule_diff(a, b) -> list[tuple[str, str, str, str]]:
    """(rule, status, article, detail) rows: inherited / overridden / new / dropped, B against A."""
    rows = []
    a_ids = {r.id: r for r in a.rules}
    b_ids = {r.id: r for r in b.rules}
    for r in b.rules:
        src = b.sources.get(r.id)
        if r.id in a_ids:
            old = a_ids[r.id]
            details = [f"参数 {k}：{_value_text(old.params.get(k))} → {_value_text(v)}"
                       for k, v in r.params.items() if old.params.get(k) != v]
            if old.severity != r.severity:
                details.append(f"严重程度：{old.severity} → {r.severity}")
            od = "、".join(dict.fromkeys(c.department for c in old.checks))
            nd = "、".join(dict.fromkeys(c.department for c in r.checks))
            if od != nd:
                details.append(f"归属部门：{od} → {nd}")
            if old.data.get("dimension") != r.data.get("dimension"):
                details.append(f"评分维度：{old.data.get('dimension')} → {r.data.get('dimension')}")
            rows.append((r.id, "覆盖" if details else "继承", str(r.data["article"]), "；".join(details)))
        else:
            detail = ""
            if src is not None and src.based_on:
                detail = f"沿用 {src.based_on} 的定义"
                base = a_ids.get(src.based_on)
                if base is not None:
                    ch = [f"{k}：{_value_text(base.params.get(k))} → {_value_text(v)}"
                          for k, v in r.params.items() if k in base.params and base.params.get(k) != v]
                    ch += [f"{k} = {_value_text(v)}（新参数）" for k, v in r.params.items() if k not in base.params]
                    if ch:
                        detail += "，参数 " + "；".join(ch)
            rows.append((r.id, "新增", str(r.data["article"]), detail))
    for r in a.rules:
        if r.id not in b_ids:
            rows.append((r.id, "删除", str(r.data["article"]), ""))
    return rows


@packs_cmd.command("diff", context_settings=CONTEXT, short_help="逐条比较两个规则包")
@click.argument("pack_a", metavar="A")
@click.argument("pack_b", metavar="B")
def packs_diff_cmd(pack_a, pack_b):
    """逐条列出规则包 B 相对 A 的规则：继承、覆盖（旧值 → 新值）、新增、删除，以及各规则的条款。"""
    from .engine import load_pack
    a, b = load_pack(pack_a), load_pack(pack_b)
    rows = _rule_diff(a, b)
    click.echo(f"{b.manifest['pack']} {b.manifest.get('version', '')} 相对 {a.manifest['pack']} "
               f"{a.manifest.get('version', '')}：")
    click.echo(format_table(["规则编号", "状态", "条款", "变化"], rows, max_cell=80))
    counts = {k: sum(1 for r in rows if r[1] == k) for k in ("继承", "覆盖", "新增", "删除")}
    click.echo("，".join(f"{k} {v} 条" for k, v in counts.items()) + "。")


@cli.group("pack", context_settings=CONTEXT, short_help="新建自己的规则包：pack new 文件夹 --extends gz165")
def pack_group():
    """管理自己的规则包。"""


@pack_group.command("new", context_settings=CONTEXT, short_help="新建一个继承已安装规则包的规则包")
@click.argument("folder", metavar="DIR", type=click.Path(path_type=str))
@click.option("--extends", "parent", default="gz165", show_default=True, metavar="NAME|PATH",
              help="上级规则包（名称或文件夹）")
def pack_new_cmd(folder, parent):
    """在 DIR 中写一个最小的规则包（pack.yaml）：继承上级规则包的全部规则，可直接运行；
    在其中修改参数（overrides）、去掉规则（drop）或加入自己的规则文件，不改动已安装的规则包。"""
    from .engine import load_pack
    from .engine.packspec import pack_root
    from .engine.resources import packs_dir
    target = Path(folder)
    if (target / "pack.yaml").exists():
        raise UsageError(f"{target / 'pack.yaml'} 已存在：请换一个文件夹，或直接编辑它")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} 是一个文件：请给出一个文件夹")
    base = load_pack(parent)
    root = pack_root(parent)
    ref = root.name if root.parent == packs_dir() else str(root)
    name = re.sub(r"[\s:：/\\]+", "-", target.resolve().name).strip("-") or "my-pack"
    some = base.rules[0].id if base.rules else "规则编号"
    text = f"""# 自定义规则包：继承 {base.manifest['pack']} 的全部规则（sharecheck pack new 生成）。
# 用法：sharecheck run 导出文件夹 --period 2026-10 --pack {target}
# - 改参数：在 overrides 下写「规则编号: {{params: {{参数: 值}}}}」（参数名见 sharecheck explain 规则编号 --pack {ref}）；
#   也可改 severity（严重/一般/提示）或 department（归属部门的列，如 采集部门）。
# - 不用某条规则：写进 drop。
# - 加自己的规则：在本文件夹放 <编号>.yaml（可写 based_on: 已有规则编号 沿用其定义），把编号写进 rules，
#   并用 dimensions 把它加入评分维度，如 dimensions: {{目录管理: {{add: [MY-01]}}}}。
pack: {name}
version: "0.1"
title: 基于 {base.manifest['pack']} 的自定义规则包
extends: {ref}
# status: 试行
overrides: {{}}
#  {some}: {{params: {{...}}}}
drop: []
rules: []
"""
    target.mkdir(parents=True, exist_ok=True)
    (target / "pack.yaml").write_text(text, encoding="utf-8")
    p = load_pack(target)
    click.echo(f"已新建规则包 {target / 'pack.yaml'}（继承 {base.manifest['pack']}，{len(p.rules)} 条规则）。")
    click.echo(f"运行：sharecheck run 导出文件夹 --period 2026-10 --pack {target}")


@cli.command("template", context_settings=CONTEXT, short_help="生成空白 Excel 导入模板 (blank templates)")
@_help
@click.option("--out", type=click.Path(path_type=str), default="模板", show_default=True, metavar="DIR",
              help="模板输出文件夹")
@click.option("--force", is_flag=True, help="文件夹中已有同名且已改动（可能已填写）的文件时，仍用空白模板覆盖")
def template_cmd(out, force):
    """为每张输入表生成一个带格式的空白 Excel 模板：第 1 行表头（必填列标 *），第 2 行填写说明，数据从第 3 行起填写；
    编码列有下拉选项。已填写过的同名文件不会被覆盖（除非加 --force）。"""
    from .templates import write_templates
    files = write_templates(out, force=force)
    click.echo(f"已生成 {len(files)} 个模板，位于 {out}：")
    for f in files:
        click.echo(f"  {Path(f).name}")


# ---------------------------------------------------------------------------------------------------- portal
@cli.command("serve", context_settings=CONTEXT, short_help="启动审计门户（网页和运行队列） (web portal)")
@_help
@click.option("--data", "data_dir", required=True, type=click.Path(path_type=str), metavar="DIR",
              help="数据文件夹：门户数据库、上传文件、各次运行、历史库和运行队列；首次启动时自动建立")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="HOST", help="监听地址")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), metavar="PORT", help="端口")
@click.option("--https-only", is_flag=True, help="会话 Cookie 只经 HTTPS 发送（在 nginx 等 HTTPS 反向代理之后使用）")
@click.option("--max-upload-mb", default=500, show_default=True, type=click.IntRange(1, 100000), metavar="MB",
              help="每次上传的大小上限")
@click.option("--run-timeout-min", default=60.0, show_default=True, type=click.FloatRange(0.01, 10000), metavar="MIN",
              help="每次运行的时间上限（分钟）")
@click.option("--memory-gb", default=8.0, show_default=True, type=click.FloatRange(0.5, 1024), metavar="GB",
              help="每次运行的内存上限")
def serve_cmd(data_dir, host, port, https_only, max_upload_mb, run_timeout_min, memory_gb):
    """启动审计门户：网页服务和运行队列在同一进程中，按 Ctrl-C 停止。首次启动时创建管理员账号 admin 并显示一次性密码。"""
    from .portal.serve import serve
    serve(data_dir, host=host, port=port, https_only=https_only, max_upload_mb=max_upload_mb,
          run_timeout_min=run_timeout_min, memory_gb=memory_gb, echo=click.echo)


@cli.group("user", cls=_Group, context_settings=CONTEXT, short_help="管理审计门户的用户 (portal users)")
@_help
def user_group() -> None:
    """管理审计门户的用户（都需要 --data DIR，即 sharecheck serve 使用的数据文件夹）。"""


_data_option = click.option("--data", "data_dir", required=True, type=click.Path(path_type=str), metavar="DIR",
                            help="门户的数据文件夹（与 sharecheck serve --data 相同）")


def _read_password(confirm: bool = True) -> str:
    """From a terminal: prompted twice, hidden; otherwise the first line of standard input."""
    if sys.stdin is not None and sys.stdin.isatty():
        return click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码" if confirm else False)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    pw = line.rstrip("\r\n")
    if not pw:
        raise UsageError("没有读到密码：请在标准输入的第一行给出密码，或在终端中运行以便输入")
    return pw


@user_group.command("add", context_settings=CONTEXT, short_help="新建用户")
@_help
@click.argument("login", metavar="LOGIN")
@click.option("--role", required=True, type=click.Choice(["auditor", "department", "admin"]),
              metavar="auditor|department|admin", help="角色：审计人员、部门用户或管理员")
@click.option("--department", metavar="部门", help="部门用户的部门：部门名称或部门代码（统一社会信用代码）")
@_data_option
def user_add_cmd(login, role, department, data_dir):
    """新建用户 LOGIN；密码从标准输入读取（在终端中则提示输入两次）。"""
    from .portal.serve import user_add
    user_add(data_dir, login, role, _read_password(), department)
    click.echo(f"已创建用户 {login}（{role}{'，' + department if department else ''}）")


@user_group.command("list", context_settings=CONTEXT, short_help="列出用户")
@_help
@_data_option
def user_list_cmd(data_dir):
    """列出全部用户。"""
    from .portal.serve import user_list
    from .portal.store import ROLE_TITLES
    rows = [[u["login"], ROLE_TITLES.get(u["role"], u["role"]), u["department"] or "", u["dept_code"] or "",
             "已停用" if u["disabled"] else ("待修改初始密码" if u["must_change"] else "正常"), u["created_at"]]
            for u in user_list(data_dir)]
    click.echo(format_table(["用户名", "角色", "部门", "部门代码", "状态", "创建时间"], rows, max_cell=60))


@user_group.command("disable", context_settings=CONTEXT, short_help="停用用户")
@_help
@click.argument("login", metavar="LOGIN")
@_data_option
def user_disable_cmd(login, data_dir):
    """停用用户 LOGIN：立即退出其全部会话，令牌失效。"""
    from .portal.serve import user_disable
    user_disable(data_dir, login)
    click.echo(f"已停用用户 {login}")


@user_group.command("enable", context_settings=CONTEXT, short_help="重新启用用户")
@_help
@click.argument("login", metavar="LOGIN")
@_data_option
def user_enable_cmd(login, data_dir):
    """重新启用已停用的用户 LOGIN。"""
    from .portal.serve import user_disable
    user_disable(data_dir, login, enable=True)
    click.echo(f"已启用用户 {login}")


@user_group.command("passwd", context_settings=CONTEXT, short_help="设置用户密码")
@_help
@click.argument("login", metavar="LOGIN")
@_data_option
def user_passwd_cmd(login, data_dir):
    """为 LOGIN 设置新密码（从标准输入读取，或在终端中提示输入）；其全部会话随即失效。"""
    from .portal.serve import user_passwd
    user_passwd(data_dir, login, _read_password())
    click.echo(f"已修改用户 {login} 的密码")


@user_group.command("token", context_settings=CONTEXT, short_help="为用户生成 API 令牌")
@_help
@click.argument("login", metavar="LOGIN")
@_data_option
def user_token_cmd(login, data_dir):
    """为 LOGIN 生成一个新的 API 令牌并打印（只显示这一次）：请求时用 Authorization: Bearer <令牌>。"""
    from .portal.serve import user_token
    click.echo(user_token(data_dir, login))


# ---------------------------------------------------------------------------------------------------- entry
def _click_error_text(err: click.ClickException) -> str:
    """Chinese text for click's own usage errors."""
    if isinstance(err, click.MissingParameter):
        p = err.param
        if p is not None and getattr(p, "opts", None) and p.opts[0].startswith("-"):
            return f"缺少选项 {p.opts[0]}：例如 --period 2026-10"
        name = (p.metavar or p.name.upper()) if p is not None else "参数"
        return f"缺少参数 {name}：用 --help 查看用法"
    if isinstance(err, click.NoSuchOption):
        extra = f"（是否想用 {'、'.join(err.possibilities)}？）" if err.possibilities else ""
        return f"没有选项 {err.option_name}{extra}：用 --help 查看可用选项"
    if isinstance(err, click.BadParameter):
        p = err.param
        name = (p.opts[0] if p is not None and getattr(p, "opts", None) else (p.name if p else "参数"))
        if p is not None and isinstance(p.type, click.Choice):
            return f"{name} 的值不对：应为 {' 或 '.join(map(str, p.type.choices))}"
        if p is not None and isinstance(p.type, click.IntRange):
            return f"{name} 的值不对：应为不小于 {p.type.min} 的整数"
        m = re.match(r"(?:Path|File|Directory) '(.*)' is not readable", err.message)
        if m:                               # issue 8, A4: an unreadable side file, named in Chinese
            return f"{name} 指定的文件 {m[1]} 无法读取（没有读取权限）：请确认当前用户有该文件的读取权限"
        return f"{name} 的值不对：{err.message}"
    if isinstance(err, click.BadOptionUsage):
        name = err.option_name
        if "requires" in err.message:
            return f"选项 {name} 后面缺少取值：例如 {_OPTION_EXAMPLES.get(name, name + ' 值')}"
        if "does not take a value" in err.message:
            return f"选项 {name} 不带取值：只写 {name}，不要写 {name}=…"
        return f"选项 {name} 用法不对：用 --help 查看用法"
    if isinstance(err, click.UsageError):
        msg = err.message
        if msg.startswith("No such command"):
            return f"没有这个命令 {msg.split(' ', 3)[-1].rstrip('.')}：可用 run、rules、explain、validate、template、packs、pack、serve、user"
        if msg.startswith("Got unexpected extra argument"):
            return f"多余的参数：{msg.split('(')[-1].rstrip(')')}"
        return f"用法错误：{msg}"
    return err.format_message()


_OPTION_EXAMPLES = {"--period": "--period 2026-10", "--as-of": "--as-of 2026-10-31", "--out": "--out 审计结果/2026-10",
                    "--waivers": "--waivers 豁免.xlsx", "--history": "--history 审计历史.db",
                    "--params": "--params 本次参数.yaml", "--calendar": "--calendar 2027工作日历.xlsx",
                    "--table": "--table exchanges=交换日志.csv", "--fail-on": "--fail-on 严重",
                    "--format": "--format xlsx", "--pack": "--pack gz165", "--limit": "--limit 50"}


def _quiet_unraisable(_unraisable) -> None:
    """After an interrupt or error, half-finished writers (openpyxl's write-only generators) are closed when
    they are garbage-collected and may complain on stderr; the user has already been told what happened."""


def debug_log_dir() -> Path:
    """A folder only this user can read, for internal-error logs: %LOCALAPPDATA%\\sharecheck\\logs on Windows,
    else $XDG_CACHE_HOME/sharecheck (default ~/.cache/sharecheck); created mode 0700. Never the shared /tmp."""
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "sharecheck" / "logs"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sharecheck"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = os.lstat(base)
    if os.name != "nt":
        import stat
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            raise OSError(f"{base} is not this user's folder")
        if st.st_mode & 0o077:
            os.chmod(base, 0o700)
    return base


def _write_debug_log() -> Path | None:
    """The traceback of an internal error, in a file only this user can read (mode 0600, O_EXCL: never an
    existing file or a link planted by someone else)."""
    try:
        name = f"sharecheck-debug-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
        path = debug_log_dir() / name
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"sharecheck {__version__}\nargv: {sys.argv!r}\n\n{traceback.format_exc()}")
        return path
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point. Never shows a traceback unless SHARECHECK_DEBUG=1."""
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None and os.environ.get("SHARECHECK_DEBUG") != "1":      # the console script, not a caller
        sys.unraisablehook = _quiet_unraisable
    if not args:
        args = ["--help"]
    try:
        rv = cli.main(args=args, prog_name="sharecheck", standalone_mode=False)
        code = rv if isinstance(rv, int) and not isinstance(rv, bool) else EXIT_OK
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None else EXIT_USAGE)
        if type(sys.stdout).__name__.lstrip("_") == "PacifyFlushWrapper":
            # click's answer to a closed pipe (`sharecheck rules | head`): the reader stopped, nothing failed;
            # exit 1 would read as --fail-on's "findings of that severity exist"
            code = EXIT_OK
    except SharecheckError as e:
        click.echo(f"错误：{_error_text(e)}", err=True)
        code = getattr(e, "exit_code", EXIT_USAGE)
    except click.exceptions.Abort:
        click.echo("已中断。", err=True)
        code = EXIT_INTERRUPTED
    except click.ClickException as e:
        click.echo(f"错误：{_click_error_text(e)}", err=True)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("已中断。", err=True)
        code = EXIT_INTERRUPTED
    except MemoryError:
        click.echo("错误：内存不足：输入过大，请拆分输入文件或在内存更大的机器上运行", err=True)
        code = EXIT_USAGE
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if os.environ.get("SHARECHECK_DEBUG") == "1":
            traceback.print_exc()
            click.echo(f"内部错误（{type(e).__name__}）", err=True)
        else:
            log = _write_debug_log()
            where = f"调试信息已写入 {log}，请把该文件发给维护人员" if log else "设置 SHARECHECK_DEBUG=1 可查看详情"
            click.echo(f"内部错误（{type(e).__name__}）：这是程序的问题，不是您数据的问题；{where}", err=True)
        code = EXIT_INTERNAL
    except BaseException as e:  # noqa: BLE001 - a native panic (pyo3 PanicException) is no Exception
        if isinstance(e, (SystemExit, KeyboardInterrupt, GeneratorExit)):
            raise
        log = _write_debug_log()
        where = f"调试信息已写入 {log}，请把该文件发给维护人员" if log else "设置 SHARECHECK_DEBUG=1 可查看详情"
        click.echo(f"内部错误（{type(e).__name__}）：这是程序的问题，不是您数据的问题；{where}", err=True)
        code = EXIT_INTERNAL
    return code


MAX_ERROR_CHARS = 1200


def _error_text(e: BaseException) -> str:
    """One line, bounded (a message never echoes a whole hostile value), safe for a terminal."""
    from .errors import cli_text
    from .text import terminal_safe
    text = terminal_safe(cli_text(e) if isinstance(e, SharecheckError) else " ".join(str(e).split()))
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS - 1] + "…"


def _entry() -> None:  # pragma: no cover
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    _entry()
