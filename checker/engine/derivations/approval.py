from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..lang import is_missing
from . import derivation
from ._util import map_dates, map_values, same_values

# The tests, in the order the reason is chosen (the first failing one is reported), and the fields a reason text
# may name: {申请编号} {申请部门} {申请资源} {答复结果} {答复日期} {交换日期}. Of the date test, the reason that
# applies is named (issue 8 E7): ``late`` when a reply date is known and later than the exchange, ``unanswered``
# when there is none. The texts are the pack's (pack.yaml
# derivations.approval.reasons); an absent value is shown as {empty}.
REASONS = ("no_number", "unknown_number", "other_user", "other_resource", "not_approved", "late", "unanswered")
FIELDS = ("申请编号", "申请部门", "申请资源", "答复结果", "答复日期", "交换日期")
_FIELD = re.compile(r"\{([^{}]*)\}")


def check_params(params: dict, where: str) -> list[str]:
    """Problems with the pack's parameters of this derivation (Chinese, for PackError)."""
    out = []
    reasons = params.get("reasons")
    if not isinstance(reasons, dict):
        return [f"{where}：derivations.approval.reasons 应为「原因: 文字」的映射（{'、'.join(REASONS)}）"]
    miss = [r for r in REASONS if not isinstance(reasons.get(r), str) or not reasons.get(r)]
    if miss:
        out.append(f"{where}：derivations.approval.reasons 缺少「{'、'.join(miss)}」的文字")
    for name, text in reasons.items():
        if name not in REASONS:
            out.append(f"{where}：derivations.approval.reasons 中「{name}」未知（可用：{'、'.join(REASONS)}）")
        elif isinstance(text, str):
            bad = [f for f in _FIELD.findall(text) if f not in FIELDS]
            if bad:
                out.append(f"{where}：derivations.approval.reasons.{name} 引用了未知字段「{'、'.join(bad)}」"
                           f"（可用：{'、'.join(FIELDS)}）")
    if not isinstance(params.get("empty"), str):
        out.append(f"{where}：derivations.approval.empty 应为文字（空值的显示，如「（空）」）")
    return out


def _fill(text: str, values: dict[str, pd.Series], index) -> pd.Series:
    """The reason text with its {fields} replaced, row by row (vectorised string concatenation)."""
    out = pd.Series("", index=index, dtype=object)
    pos = 0
    for m in _FIELD.finditer(text):
        out = out + text[pos:m.start()] + values[m[1]]
        pos = m.end()
    return out + text[pos:]


@derivation("approval", view="exchanges", adds=["审批有效", "审批问题"], needs=["exchange_catalog"],
            codelists=["答复结果_批准"], tables=["requests"],
            params={"reasons": None, "empty": "（空）"})
def approval(ctx, ex):
    """审批有效、审批问题：交换是否有使用部门就本资源已获批准、且在交换日前答复的共享申请；没有时写明原因。

    审批有效：申请编号在共享申请中存在，其申请部门为本次使用部门、信息资源代码为本资源、答复结果在代码表
    「答复结果_批准」中、答复日期不晚于交换日期。审批问题：只对目录共享类型为有条件共享而审批无效的交换，
    给出第一条不满足的原因；原因的文字来自规则包（pack.yaml 的 derivations.approval.reasons）。
    Exchanges view."""
    p = ctx.derivation_params("approval")
    reasons, empty_text = p["reasons"], p["empty"]
    rq = ctx.tables["requests"].dropna(subset=["申请编号"]).drop_duplicates("申请编号").set_index("申请编号")
    no = ex["申请编号"]                     # categorical in a loaded exchange log: look-ups run on its few values
    empty = is_missing(no)
    known = no.isin(rq.index) & ~empty
    r_user = map_values(no, rq["申请部门"])
    r_code = map_values(no, rq["信息资源代码"])
    r_res = map_values(no, rq["答复结果"])
    r_date = map_dates(no, pd.to_datetime(rq["答复日期"]))
    day = ex["交换时间"].dt.normalize()
    ok_res = r_res.isin(list(ctx.codelists["答复结果_批准"]))
    ok_date = (r_date.notna() & (r_date <= day)).fillna(False)
    ok_user = pd.Series(same_values(r_user, ex["使用部门"]), index=ex.index)
    ok_code = pd.Series(same_values(r_code, ex["信息资源代码"]), index=ex.index)
    ex["审批有效"] = (known & ok_res & ok_user & ok_code & ok_date).astype(bool)
    # the reason text only where it can matter (a 有条件共享 resource without a valid approval)
    need = ~ex["审批有效"] & (ex["目录共享类型"] == "有条件共享")
    no, empty, known, r_user, r_code, r_res, r_date = (
        x[need].astype(object) if isinstance(x.dtype, pd.CategoricalDtype) else x[need]
        for x in (no, empty, known, r_user, r_code, r_res, r_date))
    ok_res, ok_date, ok_user, ok_code = (x[need] for x in (ok_res, ok_date, ok_user, ok_code))
    values = {"申请编号": no.astype(object).fillna("").astype(str),
              "申请部门": r_user.fillna(empty_text).astype(str),
              "申请资源": r_code.fillna(empty_text).astype(str),
              "答复结果": r_res.fillna(empty_text).astype(str),
              "答复日期": r_date.dt.strftime("%Y-%m-%d").fillna(empty_text).astype(str),
              "交换日期": day[need].dt.strftime("%Y-%m-%d").fillna(empty_text).astype(str)}
    prob = pd.Series("", index=no.index, dtype=object)
    for mask, reason in ((empty, "no_number"), (~known, "unknown_number"), (~ok_user, "other_user"),
                         (~ok_code, "other_resource"), (~ok_res, "not_approved"),
                         (~ok_date & r_date.notna(), "late"), (~ok_date & r_date.isna(), "unanswered")):
        prob = prob.where(~(mask & (prob == "")), _fill(reasons[reason], values, no.index))
    ex["审批问题"] = pd.Series(np.full(len(ex), None, dtype=object), index=ex.index)
    ex.loc[need, "审批问题"] = prob
