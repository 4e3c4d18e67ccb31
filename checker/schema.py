"""The ten input tables of inputs.md, as data (their code lists are the pack's, see ``use_codelists``).

Column types: ``text`` (free text), ``code`` (identifiers: spaces removed, upper-cased), ``name`` (部门名称:
whitespace removed), ``date``, ``datetime``, ``int``, ``bool``, ``sharetype`` (共享类型).
``req``: ``yes`` / ``cond.`` (both must be present as columns) / ``no``.
``ref``: ``dept`` (holds a 部门名称 of departments) or ``catalog`` (holds a 信息资源代码 of catalog).
``business``: the rule judges empty/unknown values itself; never an input defect (inputs.md).
``codelist``: the name of a code list of the pack (``CODE_LISTS``) the loader validates (unknown value = defect).
``counts_from``: a date a rule counts from; empty/unreadable = defect.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TEXT, CODE, NAME, DATE, DATETIME, INT, BOOL, SHARETYPE = ("text", "code", "name", "date", "datetime", "int", "bool",
                                                          "sharetype")
TYPES = (TEXT, CODE, NAME, DATE, DATETIME, INT, BOOL, SHARETYPE)


@dataclass(frozen=True)
class Column:
    name: str
    type: str = TEXT
    req: str = "no"                     # yes / cond. / no
    aliases: tuple[str, ...] = ()
    ref: str | None = None              # "dept" / "catalog"
    business: bool = False
    codelist: str | None = None
    default: object = None
    counts_from: bool = False
    multi: bool = False                 # several code-list values in one cell, separated by 、 , ，
    note: str = ""                      # Chinese description (for templates)

    @property
    def required(self) -> bool:
        """Must be present as a column (req yes or cond.)."""
        return self.req in ("yes", "cond.")


@dataclass(frozen=True)
class Table:
    name: str
    title: str                          # Chinese title, also the canonical sheet name
    sheets: tuple[str, ...]             # accepted sheet names / file stems (first is canonical)
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()           # unique key (duplicates are defects; first row kept)
    required_input: bool = False
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


C = Column

# ---- code lists ---------------------------------------------------------------------------------------------------
# The code lists are pack data (``codelists.yaml`` of the pack in use); this module holds none of them. The loader
# and the templates read them through the attributes below, which follow the pack set by ``use_codelists`` (the
# run's pack; before any, the default pack).
LOADER_CODE_LISTS = ("层级", "职能类别", "资源分类", "基础信息类别", "交换通道", "交换结果", "答复结果", "变更原因", "建设类型",
                     "采集方式", "制度类别")
RULE_JUDGED_COLUMNS = ("共享类型", "共享方式", "更新周期", "标识类型", "信息类别细目")
SHARE_TYPE_LIST, SHARE_TYPE_ALIAS_LIST = "共享类型", "共享类型_别名"
_IN_USE: dict | None = None


def use_codelists(codelists: dict | None) -> dict | None:
    """Make the loader and the templates follow these code lists (a pack's ``codelists``); ``None``: the default
    pack's again. Returns the lists in use before, so that a caller can put them back."""
    global _IN_USE
    before = _IN_USE
    if codelists is None:
        _IN_USE = None
        return before
    missing = [n for n in LOADER_CODE_LISTS + RULE_JUDGED_COLUMNS + (SHARE_TYPE_ALIAS_LIST,) if n not in codelists]
    if missing:
        from .errors import PackError
        raise PackError(f"规则包的代码表 codelists.yaml 缺少「{'、'.join(missing)}」（读取输入和生成模板需要）")
    _IN_USE = {
        "CODE_LISTS": {n: tuple(codelists[n]) for n in LOADER_CODE_LISTS},
        "RULE_CODE_LISTS": {n: tuple(codelists[n]) for n in RULE_JUDGED_COLUMNS},
        "SHARE_TYPES": tuple(codelists[SHARE_TYPE_LIST]),
        "SHARE_TYPE_ALIASES": {str(k): str(v) for k, v in codelists[SHARE_TYPE_ALIAS_LIST].items()},
    }
    return before


def restore_codelists(state: dict | None) -> None:
    """Put back what ``use_codelists`` returned."""
    global _IN_USE
    _IN_USE = state


def __getattr__(name: str):
    if name in ("CODE_LISTS", "RULE_CODE_LISTS", "SHARE_TYPES", "SHARE_TYPE_ALIASES"):
        if _IN_USE is None:
            from .engine.pack import load_codelists
            use_codelists(load_codelists())
        return _IN_USE[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---- the ten tables (inputs.md) ---------------------------------------------------------------------------------
TABLE_LIST: tuple[Table, ...] = (
    Table("departments", "部门名录", ("部门名录", "部门", "departments"), (
        C("部门名称", NAME, "yes", ("单位名称", "部门"), note="唯一名称，其他各表以此名称引用部门"),
        C("部门代码", CODE, "yes", ("统一社会信用代码", "机构代码"), note="统一社会信用代码，18 位，校验位须正确"),
        C("层级", TEXT, "yes", ("行政层级",), codelist="层级", note="市级 或 区级"),
        C("所属区", NAME, "no", ("区",), note="区级部门填所属区，如 海珠区"),
        C("职能类别", TEXT, "yes", ("部门类别",), codelist="职能类别", note="见代码表 职能类别"),
        C("是否主管部门", BOOL, "no", ("主管部门",), default=False, note="本级政务信息共享主管部门填 是，默认 否"),
        C("是否派驻机构", BOOL, "no", ("派驻机构",), default=False, note="中央或上级机关派驻本区的机构填 是，默认 否"),
        C("机构性质", TEXT, "no", note="行政机关/授权组织/受委托组织"),
    ), key=("部门名称",), required_input=True, description="参与共享的政务部门，每个部门一行"),
    Table("catalog", "信息资源", ("信息资源", "信息资源目录", "政务信息资源目录", "目录", "catalog"), (
        C("信息资源代码", CODE, "yes", ("资源代码", "目录代码"), note="唯一，格式：分类码/顺序码，如 101001001/000012"),
        C("信息资源名称", TEXT, "yes", ("资源名称", "目录名称")),
        C("提供部门", NAME, "yes", ("信息资源提供方", "提供方"), ref="dept", note="部门名录中的部门名称"),
        C("资源分类", TEXT, "yes", ("信息资源分类",), codelist="资源分类", note="基础信息资源/主题信息资源/部门信息资源"),
        C("基础信息类别", TEXT, "no", ("基础库类别",), codelist="基础信息类别",
          note="基础信息资源填：自然人/法人/自然资源和空间地理/电子证照"),
        C("信息类别细目", TEXT, "no", ("基础信息细目",), note="基础信息资源填，如 户籍登记信息"),
        C("共享类型", SHARETYPE, "yes", ("共享属性",), business=True, note="无条件共享/有条件共享/不予共享 或 1/2/3"),
        C("共享条件", TEXT, "cond.", business=True, note="有条件共享时必填"),
        C("共享依据", TEXT, "cond.", ("不予共享依据", "依据"), business=True, note="有条件共享或不予共享时必填"),
        C("共享方式", TEXT, "yes", business=True, note="平台接口/平台库表/平台文件/专项共享/点对点/邮件/介质拷贝"),
        C("共享范围", TEXT, "cond.", business=True, note="不予共享以外必填"),
        C("更新周期", TEXT, "yes", ("更新频率",), business=True, note="实时/每日/每周/每月/每季度/每半年/每年/不定期"),
        C("具体用途", TEXT, "cond.", ("用途",), business=True, note="不予共享以外必填"),
        C("采集部门", NAME, "cond.", business=True, note="不予共享以外必填，部门名称"),
        C("核准部门", NAME, "cond.", business=True, note="不予共享以外必填，部门名称"),
        C("是否保密审查", BOOL, "yes", ("保密审查",), business=True, note="是/否"),
        C("是否涉密", BOOL, "yes", ("涉密",), business=True, note="是/否"),
        C("标识类型", TEXT, "cond.", ("主体标识",), business=True,
          note="公民身份号码/其他法定身份证件号码/统一社会信用代码/营业执照注册号/无"),
        C("特殊更新批准文号", TEXT, "no", ("更新例外批准",), note="经主管部门批准按季度更新的批准文号"),
        C("发布日期", DATE, "yes", counts_from=True, note="日期，如 2026-10-08"),
        C("最近更新日期", DATE, "no", note="日期"),
        # optional columns of the packs gd-trial / hz-draft (packs.md §6.1); without them those rules are 未检查
        C("关联审批事项", TEXT, "no", ("关联行政许可事项",), business=True, note="使用本资源的行政许可或跨部门并联审批事项，无则留空"),
        C("采集方式", TEXT, "no", ("数据来源方式",), codelist="采集方式", note="自行采集 或 共享获取"),
        C("采集依据", TEXT, "no", business=True, note="要求本部门自行采集的法律、法规、规章"),
    ), key=("信息资源代码",), required_input=True, description="政务信息资源目录，每个信息资源一行"),
    Table("items", "信息项", ("信息项", "数据项", "items"), (
        C("信息资源代码", CODE, "yes", ("资源代码",), ref="catalog"),
        C("信息项名称", TEXT, "yes", ("数据项名称", "字段名称"), note="如 姓名、证件类型、证件号码"),
        C("数据类型", TEXT, "no", ("字段类型",), note="字符型/数值型/日期型…"),
        C("是否基础信息项", BOOL, "no", ("基础信息项",), default=False, note="是/否，默认 否"),
    ), description="信息资源的信息项，每个信息项一行"),
    Table("catalog_changes", "目录变更", ("目录变更", "目录变更记录", "catalog_changes"), (
        C("变更编号", CODE, "yes", ("编号",), note="唯一"),
        C("部门", NAME, "yes", ("部门名称",), ref="dept"),
        C("变更原因", TEXT, "yes", ("原因",), codelist="变更原因", note="法律法规修订/职能变化/其他"),
        C("变化发生日期", DATE, "yes", ("发生日期",), counts_from=True, note="法律修订或职能变化发生之日"),
        C("报送日期", DATE, "no", ("部门报送日期",), note="向主管部门报送更新目录之日，空 = 尚未报送"),
        C("主管部门更新日期", DATE, "no", ("本级目录更新日期",), note="主管部门更新本级目录之日，空 = 尚未更新"),
    ), key=("变更编号",), description="引起目录更新义务的事件，每个事件一行"),
    Table("exchanges", "交换日志", ("交换日志", "平台交换日志", "exchanges"), (
        C("交换流水号", CODE, "yes", ("流水号", "交换编号"), note="唯一"),
        C("交换时间", DATETIME, "yes", ("时间",), counts_from=True, note="日期时间，如 2026-10-08 10:30:00"),
        C("信息资源代码", CODE, "yes", ("资源代码",), ref="catalog"),
        C("提供部门", NAME, "yes", ("提供方",), ref="dept"),
        C("使用部门", NAME, "yes", ("需求部门", "请求方"), ref="dept"),
        C("交换通道", TEXT, "yes", ("通道", "交换方式"), codelist="交换通道",
          note="共享平台/专项共享通道/点对点/前置机直连/邮件/介质拷贝"),
        C("是否涉密", BOOL, "no", ("涉密",), default=False, note="是/否，默认 否"),
        C("申请编号", CODE, "no", note="有条件共享资源：批准使用的共享申请编号"),
        C("用途", TEXT, "no", ("使用用途",)),
        C("记录数", INT, "no", ("数据量",), note="整数"),
        C("交换结果", TEXT, "no", ("结果", "状态"), codelist="交换结果", note="成功/失败"),
    ), key=("交换流水号",), description="共享平台及前置机记录的数据交换，每次交换一行"),
    Table("updates", "数据更新", ("数据更新", "数据更新记录", "updates"), (
        C("信息资源代码", CODE, "yes", ("资源代码",), ref="catalog"),
        C("数据变化时间", DATETIME, "yes", ("变化时间",), counts_from=True, note="源数据发生变化的时间"),
        C("平台更新时间", DATETIME, "no", ("更新时间",), note="变化数据到达平台的时间，空 = 尚未更新"),
    ), description="信息资源源数据变化及其上平台更新，每次变化一行"),
    Table("officers", "责任人员", ("责任人员", "共享责任人员", "officers"), (
        C("部门", NAME, "yes", ("部门名称",), ref="dept"),
        C("姓名", TEXT, "yes"),
        C("职务", TEXT, "no"),
        C("联系电话", TEXT, "yes", ("电话",)),
        C("是否已发布", BOOL, "yes", ("平台发布",), note="是/否：已在平台发布"),
        C("变动日期", DATE, "no", ("任职日期",), note="责任人变动（接任）之日"),
        C("告知日期", DATE, "no", ("书面告知日期",), note="书面告知平台管理机构之日"),
    ), description="政务信息共享工作责任人，每人一行"),
    Table("requests", "共享申请", ("共享申请", "requests"), (
        C("申请编号", CODE, "yes", ("编号",), note="唯一"),
        C("申请部门", NAME, "yes", ("使用部门",), ref="dept"),
        C("提供部门", NAME, "yes", ref="dept"),
        C("信息资源代码", CODE, "yes", ("资源代码",), ref="catalog"),
        C("申请日期", DATE, "yes", counts_from=True),
        C("答复日期", DATE, "no", note="空 = 尚未答复"),
        C("答复结果", TEXT, "no", ("审核结果",), codelist="答复结果", note="同意/部分同意/不同意"),
        C("不同意理由", TEXT, "cond.", ("理由",), note="不同意或部分同意时必填"),
        C("申请用途", TEXT, "yes", ("用途",)),
    ), key=("申请编号",), description="有条件共享资源的使用申请，每个申请一行"),
    Table("disputes", "数据异议", ("数据异议", "disputes"), (
        C("异议编号", CODE, "yes", ("编号",), note="唯一"),
        C("提出部门", NAME, "yes", ref="dept"),
        C("提供部门", NAME, "yes", ref="dept"),
        C("信息资源代码", CODE, "yes", ("资源代码",), ref="catalog"),
        C("提出日期", DATE, "yes", counts_from=True),
        C("核实日期", DATE, "no", ("答复日期",), note="提供部门核实并答复之日"),
        C("更正日期", DATE, "no", note="更正数据重新上平台之日"),
    ), key=("异议编号",), description="使用部门对共享数据提出的异议，每个异议一行"),
    Table("systems", "信息系统", ("信息系统", "业务信息系统", "systems"), (
        C("系统名称", TEXT, "yes"),
        C("所属部门", NAME, "yes", ("部门",), ref="dept"),
        C("是否跨部门共享", BOOL, "yes", ("跨部门共享",), note="是/否"),
        C("是否接入共享平台", BOOL, "yes", ("接入平台",), note="是/否"),
        C("建设类型", TEXT, "no", codelist="建设类型", note="新建/原有"),
    ), description="部门业务信息系统，每个系统一行"),
    # optional (packs.md §6.1; the pack gd-trial's GD-07-1): without it that rule is 未检查
    Table("procedures", "采集制度", ("采集制度", "信息采集制度", "procedures"), (
        C("部门", NAME, "yes", ("部门名称",), ref="dept"),
        C("制度名称", TEXT, "yes", ("名称",)),
        C("制度类别", TEXT, "yes", ("类别",), codelist="制度类别", multi=True,
          note="信息收集/信息发布/信息维护，可填多个，用、或，分隔"),
        C("文号", TEXT, "no"),
        C("印发日期", DATE, "no", ("发布日期",)),
        C("废止日期", DATE, "no", note="空 = 现行有效"),
    ), description="部门的信息收集、发布、维护制度，每个制度一行"),
)
TABLES: dict[str, Table] = {t.name: t for t in TABLE_LIST}
REQUIRED_INPUTS = tuple(t.name for t in TABLE_LIST if t.required_input)


def table(name: str) -> Table:
    return TABLES[name]


# Repetitive code/name columns of the big event tables, loaded as pandas categoricals: a million exchange rows
# name a few thousand resources and a hundred departments, so membership tests, look-ups and missing checks run
# on the distinct values, and memory holds one string per distinct value.
# Issue 8 C4: reports quote text as the input had it; NFKC is for matching and keys. For the text and name columns
# of these tables the loader keeps the input's own spelling (outer whitespace and control characters removed) in a
# twin column DISPLAY_PREFIX + name, where it differs from the normalised value (None elsewhere). Finding messages
# and the reports' department names use it. The big event tables quote only codes and keep no twins.
DISPLAY_PREFIX = "_原文:"
DISPLAY_TABLES = ("departments", "catalog", "catalog_changes", "items", "officers", "requests", "disputes",
                  "systems")

CATEGORICAL: dict[str, tuple[str, ...]] = {
    "exchanges": ("信息资源代码", "提供部门", "使用部门", "交换通道", "交换结果", "申请编号"),
    "updates": ("信息资源代码",),
}
