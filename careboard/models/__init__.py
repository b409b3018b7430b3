"""Models, one module per aggregate. Importing this package registers every table with the metadata."""
from careboard.models.settings import Setting
from careboard.models.users import Level, Role, User

__all__ = ["Level", "Role", "Setting", "User"]
