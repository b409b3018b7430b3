"""Models, one module per aggregate. Importing this package registers every table with the metadata."""
from careboard.models.cards import Card, CardEvent, CardKind, Column, EventKind, Priority, SlaState
from careboard.models.settings import Setting
from careboard.models.users import Level, Role, User

__all__ = ["Card", "CardEvent", "CardKind", "Column", "EventKind", "Level", "Priority", "Role", "Setting",
           "SlaState", "User"]
