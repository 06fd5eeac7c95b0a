from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_OPERATIONS_SUPERVISOR: _ClassVar[Role]
    ROLE_SERVICE_MANAGER: _ClassVar[Role]
    ROLE_OUTLET_HEAD: _ClassVar[Role]
    ROLE_CUSTOMER_MANAGER: _ClassVar[Role]

class OutletClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTLET_CLASS_UNSPECIFIED: _ClassVar[OutletClass]
    OUTLET_CLASS_A: _ClassVar[OutletClass]
    OUTLET_CLASS_B: _ClassVar[OutletClass]
    OUTLET_CLASS_C: _ClassVar[OutletClass]
ROLE_UNSPECIFIED: Role
ROLE_OPERATIONS_SUPERVISOR: Role
ROLE_SERVICE_MANAGER: Role
ROLE_OUTLET_HEAD: Role
ROLE_CUSTOMER_MANAGER: Role
OUTLET_CLASS_UNSPECIFIED: OutletClass
OUTLET_CLASS_A: OutletClass
OUTLET_CLASS_B: OutletClass
OUTLET_CLASS_C: OutletClass

class Outlet(_message.Message):
    __slots__ = ("outlet_id", "outlet_class", "region")
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    OUTLET_CLASS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    outlet_id: str
    outlet_class: OutletClass
    region: str
    def __init__(self, outlet_id: _Optional[str] = ..., outlet_class: _Optional[_Union[OutletClass, str]] = ..., region: _Optional[str] = ...) -> None: ...

class Assignment(_message.Message):
    __slots__ = ("role", "outlet_id", "effective_from", "effective_until")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    role: Role
    outlet_id: str
    effective_from: str
    effective_until: str
    def __init__(self, role: _Optional[_Union[Role, str]] = ..., outlet_id: _Optional[str] = ..., effective_from: _Optional[str] = ..., effective_until: _Optional[str] = ...) -> None: ...

class Employee(_message.Message):
    __slots__ = ("employee_id", "current", "history", "name")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    current: Assignment
    history: _containers.RepeatedCompositeFieldContainer[Assignment]
    name: str
    def __init__(self, employee_id: _Optional[str] = ..., current: _Optional[_Union[Assignment, _Mapping]] = ..., history: _Optional[_Iterable[_Union[Assignment, _Mapping]]] = ..., name: _Optional[str] = ...) -> None: ...

class RegisterOutletRequest(_message.Message):
    __slots__ = ("outlet_id", "outlet_class", "region")
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    OUTLET_CLASS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    outlet_id: str
    outlet_class: OutletClass
    region: str
    def __init__(self, outlet_id: _Optional[str] = ..., outlet_class: _Optional[_Union[OutletClass, str]] = ..., region: _Optional[str] = ...) -> None: ...

class RegisterOutletResponse(_message.Message):
    __slots__ = ("outlet", "position", "replayed")
    OUTLET_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    outlet: Outlet
    position: int
    replayed: bool
    def __init__(self, outlet: _Optional[_Union[Outlet, _Mapping]] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetOutletRequest(_message.Message):
    __slots__ = ("outlet_id", "min_position")
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    outlet_id: str
    min_position: int
    def __init__(self, outlet_id: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class GetOutletResponse(_message.Message):
    __slots__ = ("outlet",)
    OUTLET_FIELD_NUMBER: _ClassVar[int]
    outlet: Outlet
    def __init__(self, outlet: _Optional[_Union[Outlet, _Mapping]] = ...) -> None: ...

class RegisterEmployeeRequest(_message.Message):
    __slots__ = ("employee_id", "role", "outlet_id", "effective_from", "name")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    role: Role
    outlet_id: str
    effective_from: str
    name: str
    def __init__(self, employee_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., outlet_id: _Optional[str] = ..., effective_from: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RegisterEmployeeResponse(_message.Message):
    __slots__ = ("employee", "position", "replayed")
    EMPLOYEE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    employee: Employee
    position: int
    replayed: bool
    def __init__(self, employee: _Optional[_Union[Employee, _Mapping]] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class TransferEmployeeRequest(_message.Message):
    __slots__ = ("request_id", "employee_id", "role", "outlet_id", "effective_from")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    OUTLET_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    employee_id: str
    role: Role
    outlet_id: str
    effective_from: str
    def __init__(self, request_id: _Optional[str] = ..., employee_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., outlet_id: _Optional[str] = ..., effective_from: _Optional[str] = ...) -> None: ...

class TransferEmployeeResponse(_message.Message):
    __slots__ = ("employee", "position", "replayed")
    EMPLOYEE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    employee: Employee
    position: int
    replayed: bool
    def __init__(self, employee: _Optional[_Union[Employee, _Mapping]] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetEmployeeRequest(_message.Message):
    __slots__ = ("employee_id", "min_position")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_POSITION_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    min_position: int
    def __init__(self, employee_id: _Optional[str] = ..., min_position: _Optional[int] = ...) -> None: ...

class GetEmployeeResponse(_message.Message):
    __slots__ = ("employee",)
    EMPLOYEE_FIELD_NUMBER: _ClassVar[int]
    employee: Employee
    def __init__(self, employee: _Optional[_Union[Employee, _Mapping]] = ...) -> None: ...

class RenameEmployeeRequest(_message.Message):
    __slots__ = ("employee_id", "name")
    EMPLOYEE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    employee_id: str
    name: str
    def __init__(self, employee_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class RenameEmployeeResponse(_message.Message):
    __slots__ = ("employee", "position", "replayed")
    EMPLOYEE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    employee: Employee
    position: int
    replayed: bool
    def __init__(self, employee: _Optional[_Union[Employee, _Mapping]] = ..., position: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...
