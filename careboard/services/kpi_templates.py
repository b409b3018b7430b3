"""The KPI templates a new installation starts from, one per role, taken from the KPI sheets in the seeds
(斯柯达客户关爱部岗位职责及KPI考核指标). The director edits them afterwards; each is the JSON dict that
`kpi_engine.validate_template()` accepts (the format is described there).

Where a sheet gives a full scoring table (客服主管) it is reproduced as it is. Where it gives only a
target (关爱总监, 销售/售后关爱专员), the points and the rule are our choice, written in the metric's
description so the director sees why. Metrics CareBoard measures from the board carry `source: measured`
and the measure's code; everything else is entered by the supervisor for the month.
"""
from __future__ import annotations

import copy

from careboard.models import Role
from careboard.services.kpi_engine import BAND_INTERPOLATED as BANDS
from careboard.services.kpi_engine import COEFFICIENT, ENTERED, GATE, JUDGED, LINEAR, MEASURED, WEIGHTED_RATES


def _metric(code: str, name: str, points: float, rule: str, params: dict | None = None, *,
            measure: str | None = None, unit: str | None = None, description: str = "") -> dict:
    metric = {"code": code, "name": name, "points": points, "rule": rule, "params": params or {},
              "source": MEASURED if measure else ENTERED, "measure": measure, "description": description}
    if unit:
        metric["unit"] = unit
    return metric


def _steps(*pairs: tuple[float | None, float]) -> list[dict]:
    return [{"min": low, "factor": factor} for low, factor in pairs]


CS_SUPERVISOR = {
    "role": Role.CS_SUPERVISOR.value,
    "name": "客服主管 KPI",
    "description": "按种子考核表:利润指标 30%(保险业务 20、关爱活动 10),销量指标 20%(销售量 20),"
                   "满意度指标 50%(满意度 30、投诉关闭率 10、工作改进与提高 10)。",
    "metrics": [
        _metric("insurance", "保险业务", 20, WEIGHTED_RATES, {"parts": [
            {"code": "renewal", "label": "续保任务完成率", "weight": 8},
            {"code": "new_insurance", "label": "新增保险任务完成率", "weight": 2},
        ]}, description="协助续保专员提升新增保险业务与续保率:8分×续保任务完成率+2分×新增保险任务完成率,"
                        "最高20分(种子原文;任务完成率超过100%部分计分)。"),
        _metric("care_activities", "关爱活动", 10, JUDGED, {"bands": [
            {"code": "none", "label": "没有开展", "min": 0, "max": 0},
            {"code": "average", "label": "开展,效果一般", "min": 0, "max": 5},
            {"code": "good", "label": "开展,效果不错", "min": 6, "max": 10},
        ]}, description="每月开展客户关爱活动,不间断进行关爱活动促进客户满意度提升。"),
        _metric("sales", "销售量", 20, WEIGHTED_RATES, {"parts": [
            {"code": "sales_completion", "label": "当月销售任务完成率", "weight": 15},
            {"code": "referral", "label": "客户转介绍率", "weight": 5},
        ]}, description="利用各种渠道提升集客量与转介绍率:"
                        "15分×当月销售任务完成率+5分×客户转介绍率,最高20分。"),
        _metric("satisfaction", "满意度", 30, BANDS, {"better": "lower", "bands": [
            {"from": 0, "to": 20, "low": 25, "high": 30},
            {"from": 20, "to": 50, "low": 15, "high": 25},
            {"from": 50, "to": 80, "low": 5, "high": 15},
            {"from": 80, "to": 100, "low": 0, "high": 5},
        ]}, unit="percent", description="按大区各经销店满意度排名百分位(越小越好):"
                                        "前20%:25-30分,20%-50%:15-25分,50%-80%:5-15分,80%-100%:0-5分,"
                                        "区间内线性插值。"),
        _metric("complaint_closure", "投诉关闭率", 10, LINEAR, measure="complaint_closure",
                description="关闭所有客户投诉:10分×关闭率(已关闭/已受理)。"),
        _metric("improvement", "工作改进与提高", 10, JUDGED, {"bands": [
            {"code": "clear", "label": "进步明显", "min": 10, "max": 10},
            {"code": "some", "label": "较有进步", "min": 7, "max": 8},
            {"code": "same", "label": "维持原状", "min": 5, "max": 6},
            {"code": "worse", "label": "退步", "min": 0, "max": 0},
        ]}, description="较上一季度的工作有进步,持续改善工作不足部分。"),
    ],
}

SALES_CARE = {
    "role": Role.SALES_CARE.value,
    "name": "销售关爱专员 KPI",
    "description": "种子只给出目标(100%回访、100%问候、2小时内上报抱怨、48小时内归档等)"
                   "与 SQS、快回绩效系数表;分值由我们分配,未达目标按完成率线性计分。"
                   "系数不计入100分,显示在总分旁。",
    "metrics": [
        _metric("sales_callback", "成交客户回访完成率", 30, LINEAR, measure="callback_completion",
                description="成交后3天、3个月、6个月及节假日100%回访:30分×按时完成率。"),
        _metric("greeting", "生日、节假日问候率", 15, LINEAR, measure="greeting_rate",
                description="生日、节假日问候率达到100%:15分×问候率。"),
        _metric("complaint_handoff", "抱怨2小时内上报率", 20, LINEAR, measure="complaint_handoff",
                description="第一时间受理客户抱怨,2小时内上报相关责任部门:20分×按时上报率。"),
        _metric("archiving", "成交档案48小时内归档率", 10, LINEAR,
                description="成交客户档案48小时内归档:10分×按时归档率(主管录入)。"),
        _metric("showroom_check", "展厅展车日检完成率", 10, LINEAR, measure="checklist_completion",
                description="每日1次展厅展车标准检查:10分×检查完成率。"),
        _metric("activity_participation", "市场、关爱活动参与率", 10, LINEAR,
                description="公司所有市场、关爱活动参与率达到100%:10分×参与率(主管录入)。"),
        _metric("reports", "周报、月报按时上报率", 5, LINEAR,
                description="每周一上报周报、每月5日前上报月报:5分×按时上报率(主管录入)。"),
        _metric("sqs_factor", "SQS绩效系数", 0, COEFFICIENT,
                {"steps": _steps((98, 1.4), (96, 1.2), (94, 1.0), (None, 0.8)), "of": "total"},
                description="X≥98:1.4;96≤X<98:1.2;94≤X<96:1.0;X<94:0.8。"),
        _metric("quick_callback_factor", "快回绩效系数(得分)", 0, COEFFICIENT,
                {"steps": _steps((10, 1.4), (9.8, 1.2), (9.6, 1.0), (None, 0.8)), "of": "total"},
                description="快回得分 X=10:1.4;9.8≤X<10:1.2;9.6≤X<9.8:1.0;X<9.6:0.8。"),
        _metric("quick_callback_rate_factor", "快回绩效系数(比率)", 0, COEFFICIENT,
                {"steps": _steps((1, 1.4), (0.98, 1.2), (0.96, 1.0), (None, 0.8)), "of": "total"},
                unit="rate",
                description="快回比率 X=100%:1.4;98%≤X<100%:1.2;96%≤X<98%:1.0;X<96%:0.8(种子表的第二行)。"),
    ],
}

AFTERSALES_CARE = {
    "role": Role.AFTERSALES_CARE.value,
    "name": "售后关爱专员 KPI",
    "description": "种子只给出目标(100%回访、100%提醒、续保率40%、流失率低于15%等);分值由我们分配,"
                   "未达目标按完成率线性计分。",
    "metrics": [
        _metric("aftersales_callback", "售后回访完成率", 25, LINEAR, measure="callback_completion",
                description="售后维修保养客户3日内100%回访并按标准话术:25分×按时完成率。"),
        _metric("reminders", "保养提醒完成率", 15, LINEAR, measure="reminders_sent",
                description="首保到期短信、定期保养每周100%提醒:15分×已发提醒/到期提醒。"),
        _metric("renewal", "续保率", 15, LINEAR, {"target": 0.4},
                description="续保率达到40%得满分,低于40%按续保率÷40%计分。"),
        _metric("churn", "客户流失率", 15, LINEAR, {"floor": 0.3, "target": 0.15},
                description="流失率低于15%:≤15%得满分,≥30%得0分,之间线性(越低越好)。"),
        _metric("complaint_handoff", "抱怨及时下发率", 15, LINEAR, measure="complaint_handoff",
                description="接到抱怨一小时内下发到第一责任人:15分×按时下发率。"),
        _metric("appointments", "预约保养维修受理率", 5, LINEAR,
                description="对预约保养维修客户100%受理:5分×受理率(主管录入)。"),
        _metric("activity_participation", "市场、关爱活动参与率", 5, LINEAR,
                description="公司所有市场、关爱活动参与率达到100%:5分×参与率(主管录入)。"),
        _metric("reports", "周报、月报按时上报率", 5, LINEAR,
                description="每周一上报周报、每月5日前上报月报:5分×按时上报率(主管录入)。"),
    ],
}

CARE_DIRECTOR = {
    "role": Role.CARE_DIRECTOR.value,
    "name": "关爱总监 KPI",
    "description": "种子只给出目标:销售(QS≥9且回访成功率≥90%、SQS≥900、MS≥80、DSC目标700且开关≥650、HIC≥80、"
                   "投诉回应率100%)、售后(CSS≥100、PT≥80、AUDIT2≥80%、400抱怨响应及时率和处理满意率100%)、"
                   "市场活动质量、回访(售后≥90%、销售100%)。分值由我们分配:销售50、售后25、市场10、回访与投诉15;"
                   "厂家得分类指标从一个下限到目标线性计分。",
    "metrics": [
        _metric("qs", "QS", 5, LINEAR, {"floor": 8, "target": 9}, unit="number",
                description="QS目标≥9分:8分以下0分,8-9分线性,≥9分满分。"),
        _metric("callback_success", "回访成功率", 5, LINEAR, {"target": 0.9}, measure="callback_success",
                description="回访成功率≥90%得满分,低于90%按成功率÷90%计分。"),
        _metric("sqs", "SQS", 10, LINEAR, {"floor": 800, "target": 900}, unit="number",
                description="SQS目标≥900分:800分以下0分,800-900分线性。"),
        _metric("ms", "MS", 5, LINEAR, {"floor": 60, "target": 80}, unit="number",
                description="MS目标≥80分:60分以下0分,60-80分线性。"),
        _metric("dsc", "DSC", 10, LINEAR, {"target": 700}, unit="number",
                description="DSC目标700分:10分×DSC÷700;低于开关指标650分时为0分(见DSC开关)。"),
        _metric("dsc_gate", "DSC开关指标", 0, GATE, {"gates": "dsc", "min": 650, "value_of": "dsc"},
                unit="number",
                description="DSC≥650分时DSC得分有效,低于650分DSC为0分。"),
        _metric("hic", "HIC", 5, LINEAR, {"floor": 60, "target": 80}, unit="number",
                description="HIC≥80分:60分以下0分,60-80分线性。"),
        _metric("complaint_response", "投诉回应率", 10, LINEAR, measure="complaint_response",
                description="投诉回应率100%(30分钟内响应):10分×按时响应率。"),
        _metric("css", "CSS", 10, LINEAR, {"floor": 80, "target": 100}, unit="number",
                description="CSS目标≥100分:80分以下0分,80-100分线性。"),
        _metric("pt", "PT", 5, LINEAR, {"floor": 60, "target": 80}, unit="number",
                description="PT目标≥80分:60分以下0分,60-80分线性。"),
        _metric("audit2", "AUDIT2", 5, LINEAR, {"floor": 0.6, "target": 0.8},
                description="AUDIT2≥80%:60%以下0分,60%-80%线性。"),
        _metric("hotline_400", "400抱怨响应及时率和处理满意率", 5, WEIGHTED_RATES, {"parts": [
            {"code": "response_on_time", "label": "响应及时率", "weight": 2.5, "cap": 1},
            {"code": "handling_satisfaction", "label": "处理满意率", "weight": 2.5, "cap": 1},
        ]}, description="两项目标均为100%:2.5分×响应及时率+2.5分×处理满意率。"),
        _metric("marketing", "市场推广活动质量", 10, WEIGHTED_RATES, {"parts": [
            {"code": "compliance", "label": "活动达标率", "weight": 6, "cap": 1},
            {"code": "onsite_deals", "label": "现场成交目标完成率", "weight": 4, "cap": 1},
        ]}, description="市场推广活动质量(达标率、现场成交率):6分×达标率+4分×现场成交目标完成率,"
                        "每项最多按100%计。"),
        _metric("callback_completion", "回访完成率", 10, LINEAR, measure="callback_completion",
                description="售后回访率≥90%、销售回访率=100%;按全部到期回访的按时完成率计,目标100%。"),
        _metric("complaint_closure", "投诉关闭率", 5, LINEAR, measure="complaint_closure",
                description="24小时内处理客户投诉并关闭:5分×关闭率。"),
    ],
}

DEFAULT_TEMPLATES: dict[str, dict] = {
    t["role"]: t for t in (CARE_DIRECTOR, CS_SUPERVISOR, SALES_CARE, AFTERSALES_CARE)
}


def default_template(role: str) -> dict | None:
    """A fresh copy of the role's default template (safe to edit), or None for a role without one."""
    template = DEFAULT_TEMPLATES.get(str(getattr(role, "value", role)))
    return copy.deepcopy(template) if template is not None else None
