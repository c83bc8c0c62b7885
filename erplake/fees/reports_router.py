"""Fee reports for the accountant and the principal: JSON, or CSV / XLSX exports
(`?format=csv|xlsx`, the whole list, amounts in rupees)."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from erplake.core.db import DbSession
from erplake.core.pagination import Pagination
from erplake.core.permissions import P
from erplake.core.security import Principal, require
from erplake.fees import reports
from erplake.fees.reports import (
    CollectionByClass,
    CollectionByDay,
    CollectionByHead,
    Defaulters,
    Outstanding,
    Table,
)

router = APIRouter(prefix="/fee-reports", tags=["fee reports"])

Reader = Annotated[Principal, require(P.reports_read)]
Format = Annotated[
    Literal["json", "csv", "xlsx"],
    Query(description="json, or a csv / xlsx download of the whole report"),
]
From = Annotated[date, Query(alias="from", description="First day (received on)")]
To = Annotated[date, Query(alias="to", description="Last day, included")]
AsOf = Annotated[date | None, Query(description="Balances at the end of this day (default: today)")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_EXPORTS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, XLSX: {}}},
    422: {"description": "bad date range"},
}


def _rupees(paise: Any) -> Any:
    return None if paise is None else Decimal(int(paise)) / 100


def _cells(table: Table) -> list[list[Any]]:
    money = [table.columns.index(m) for m in table.money]
    rows = []
    for row in table.rows:
        cells = list(row)
        for index in money:
            cells[index] = _rupees(cells[index])
        rows.append(cells)
    return rows


def _columns(table: Table) -> list[str]:
    return [f"{c}_inr" if c in table.money else c for c in table.columns]


def _csv(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(_columns(table))
    for row in _cells(table):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


def _xlsx(table: Table) -> bytes:
    """Blocking: run in a thread."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(table.name[:31])
    sheet.append(_columns(table))
    money = {table.columns.index(m) for m in table.money}
    for row in _cells(table):
        cells = []
        for index, value in enumerate(row):
            cell = WriteOnlyCell(sheet, value=value)
            if index in money:
                cell.number_format = "#,##0.00"
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def _export(table: Table, fmt: str) -> Response:
    if fmt == "csv":
        data, media, extension = _csv(table), "text/csv; charset=utf-8", "csv"
    else:
        data, media, extension = await asyncio.to_thread(_xlsx, table), XLSX, "xlsx"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{table.name}.{extension}"'},
    )


@router.get("/collection/by-day", response_model=CollectionByDay, responses=_EXPORTS)
async def collection_by_day(
    session: DbSession, principal: Reader, from_date: From, to_date: To, format: Format = "json"
) -> Any:
    """Money received per day (by method), refunds booked that day, and the net."""
    report = await reports.collection_by_day(
        session, school_id=principal.school_id, from_date=from_date, to_date=to_date
    )
    return report if format == "json" else await _export(reports.day_table(report), format)


@router.get("/collection/by-head", response_model=CollectionByHead, responses=_EXPORTS)
async def collection_by_head(
    session: DbSession, principal: Reader, from_date: From, to_date: To, format: Format = "json"
) -> Any:
    """Net collection per fee head: money paid against an invoice pays its heads in
    order (by code, the late fee last); money not yet billed is the Advance row. The
    rows add up to the net of collection by day over the same dates."""
    report = await reports.collection_by_head(
        session, school_id=principal.school_id, from_date=from_date, to_date=to_date
    )
    return report if format == "json" else await _export(reports.head_table(report), format)


@router.get("/collection/by-class", response_model=CollectionByClass, responses=_EXPORTS)
async def collection_by_class(
    session: DbSession, principal: Reader, from_date: From, to_date: To, format: Format = "json"
) -> Any:
    """Collection per class (the student's class in the payment's academic year)."""
    report = await reports.collection_by_class(
        session, school_id=principal.school_id, from_date=from_date, to_date=to_date
    )
    return report if format == "json" else await _export(reports.class_table(report), format)


@router.get("/outstanding", response_model=Outstanding, responses=_EXPORTS)
async def outstanding(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    as_of: AsOf = None,
    class_id: uuid.UUID | None = None,
    section_id: uuid.UUID | None = None,
    format: Format = "json",
) -> Any:
    """What each student owes, aged by days past the due date (not yet due, 0–30,
    31–60, 61–90, over 90), largest first, with school-wide totals per bucket."""
    report = await reports.outstanding(
        session,
        school_id=principal.school_id,
        as_of=as_of,
        page=page if format == "json" else None,
        class_id=class_id,
        section_id=section_id,
    )
    return report if format == "json" else await _export(reports.outstanding_table(report), format)


@router.get("/defaulters", response_model=Defaulters, responses=_EXPORTS)
async def defaulters(
    session: DbSession,
    principal: Reader,
    page: Pagination,
    as_of: AsOf = None,
    min_days: Annotated[int, Query(ge=1, le=3650, description="Overdue by at least")] = 1,
    class_id: uuid.UUID | None = None,
    section_id: uuid.UUID | None = None,
    format: Format = "json",
) -> Any:
    """Students with a balance past its due date, longest overdue first, with how many
    there are, what they owe and a guardian to call."""
    report = await reports.defaulters(
        session,
        school_id=principal.school_id,
        as_of=as_of,
        page=page if format == "json" else None,
        min_days=min_days,
        class_id=class_id,
        section_id=section_id,
    )
    return report if format == "json" else await _export(reports.defaulters_table(report), format)
