"""Models, one module per aggregate. Importing this package registers every table with the metadata."""
from careboard.models.cards import (BoardChange, CallbackResult, Card, CardEvent, CardKind, Column, EventKind, Priority,
                                   SlaState)
from careboard.models.checklist import (ChecklistArea, ChecklistItem, ChecklistRun, FiveS, Photo, PhotoLink, PhotoStage,
                                        Result, RunAnswer, RunStatus)
from careboard.models.complaints import Category, Channel, Complaint, ComplaintStatus, ComplaintStep, Department
from careboard.models.callbacks import CallbackScript
from careboard.models.customers import Customer, Sale, ServiceVisit, Vehicle
from careboard.models.imports import ImportJob, JobPhase, JobStatus
from careboard.models.notifications import NoticeKind, Notification, NotificationPreference
from careboard.models.kpi import KpiEntry, KpiMonth, KpiMonthEvent, KpiScore, KpiTemplate
from careboard.models.ratelimit import RateLimitCounter
from careboard.models.reports import Report
from careboard.models.robots import MessageStatus, Robot, RobotKind, RobotMessage, Topic
from careboard.models.settings import RuleState, Setting
from careboard.models.users import CARE_ROLES, Level, LoginSession, Role, User

__all__ = ["MessageStatus", "Robot", "RobotKind", "RobotMessage", "Topic",
           "RateLimitCounter", "KpiEntry", "KpiMonth", "KpiMonthEvent", "KpiScore", "KpiTemplate", "Report",
           "ChecklistArea", "ChecklistItem", "ChecklistRun", "FiveS", "Photo", "PhotoLink", "PhotoStage", "Result",
           "RunAnswer", "RunStatus",
           "Category", "Channel", "Complaint", "ComplaintStatus", "ComplaintStep", "Department", "Notification",
           "NoticeKind", "NotificationPreference",
           "BoardChange", "CallbackResult", "CallbackScript", "Card", "CardEvent", "CardKind", "Column", "Customer",
           "EventKind",
           "ImportJob", "JobPhase", "JobStatus",
           "CARE_ROLES", "Level", "LoginSession", "Priority", "Role", "RuleState", "Sale", "ServiceVisit", "Setting",
           "SlaState", "User", "Vehicle"]
