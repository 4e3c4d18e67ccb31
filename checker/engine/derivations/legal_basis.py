from __future__ import annotations

import pandas as pd

from ...schema import DISPLAY_PREFIX
from ..lang import is_missing
from . import derivation


@derivation("legal_basis", view="catalog", adds=["依据级别", "依据充分", "依据引用", "依据层级"], classifier=True)
def legal_basis(ctx, cat):
    """依据级别、依据充分、依据引用：共享依据的法律效力层级（法律依据分类表 legal_basis.yaml）。

    只对填了共享依据的信息资源分类；依据级别为分类表的级别名，依据充分表示引用了本规则包认为充分的依据，
    依据引用列出识别出的引用；依据层级列出各引用的效力层级（法律、行政法规、地方性法规、地方政府规章、部门规章、
    规范性文件、地方未定…，用「、」连接），供规则用 cites() 判断哪些层级足够。
    Catalog view; the classifier table is the pack's own legal_basis.yaml."""
    cat["依据级别"] = pd.Series([None] * len(cat), dtype=object)
    cat["依据充分"] = pd.Series(False, index=cat.index, dtype=bool)
    cat["依据引用"] = pd.Series([None] * len(cat), dtype=object)
    cat["依据层级"] = pd.Series([None] * len(cat), dtype=object)
    has = ~is_missing(cat["共享依据"])
    if has.any():
        from ...legal import classify_basis
        texts = cat.loc[has, "共享依据"]
        twin = DISPLAY_PREFIX + "共享依据"             # the input's own spelling, where it differs (issue 8 C4)
        shown = (cat.loc[has, twin].where(cat.loc[has, twin].notna(), texts) if twin in cat.columns else None)
        res = classify_basis(texts, ctx.legal_table, shown=shown)
        res.index = texts.index
        cat.loc[has, "依据级别"] = res["level"].astype(object)
        cat.loc[has, "依据充分"] = res["sufficient"].astype("boolean").fillna(False).astype(bool)
        cat.loc[has, "依据引用"] = res["citations"].astype(object)
        cat.loc[has, "依据层级"] = res["grades"].astype(object)
