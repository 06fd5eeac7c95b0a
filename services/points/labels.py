"""Words people read, in Simplified Chinese and English: the names of roles, dimensions, outlet classes and statement rows.

Ids stay the ids (what programs read); these are put beside them where a person reads the
output (CSV headers and rows, CLI lines). An id with no label here is shown as it is.
"""

from __future__ import annotations

LABELS = {
    # roles (post types)
    "operations_supervisor": "运营主管",
    "service_manager": "服务经理",
    "outlet_head": "网点负责人",
    "customer_manager": "客户经理",
    # the example policy's dimensions
    "workload": "工作量",
    "quality": "质量",
    "compliance": "合规",
    "service": "服务",
    "development": "发展",
    "results": "业绩",
    # statement rows
    "work": "本月工作",
    "adjustment": "往月调整",
    "total": "合计",
    # states
    "open": "未关闭",
    "closed": "已关闭",
    "pending": "待批准",
    "approved": "已批准",
    "withdrawn": "已撤回",
    # negative months
    "carry_forward": "负数结转下月",
    "pay_negative": "按负数发放",
}


def both(word: str) -> str:
    """'service_manager' -> '服务经理 service_manager'; a word without a label as it is."""
    label = LABELS.get(word)
    return f"{label} {word}" if label and word else word
