"""Certificates in the panel: who was certified for which course, by name, each row's PDF,
and the admins' Revoke and Re-issue, which are the API's (``services.certificates.revoke``
and ``services.certificate_flows.reissue``).

The names shown are the certificate's own (``learner_name``, ``course_title``: the names as
certified); the learner's email comes with the rows (joined into the page's query), so a
list page costs two statements (count, rows) whatever its size.

Both actions need words from the admin (a reason, a corrected name), which sqladmin's
action links cannot carry: the link opens a small form, which posts back to the same
address. The panel's session cookie is ``SameSite=Strict`` (``admin.auth``): a post from
another site arrives signed out, so the forms need no token of their own, like the panel's
other forms. Revoking and re-issuing audit themselves (the API calls them too): the panel
adds no audit entry of its own.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar

from jinja2 import ChoiceLoader, Environment, FileSystemLoader
from markupsafe import Markup
from sqladmin import action, expose
from sqladmin.authorization import custom_action
from sqlalchemy import Select
from sqlalchemy.orm import Session, joinedload
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)
from wtforms import Form, StringField, TextAreaField, validators

from admin.auth import BASE_URL, panel_user
from admin.files import panel_file
from admin.overrides.actions import ADMINS, ActionsView, reason
from admin.views import PanelError
from core.clock import utcnow
from core.database import async_units_of_work
from core.errors import DomainError
from core.settings import PROJECT_ROOT
from models import Certificate, CertificateStatus, Role, User
from services.certificate_flows import reissue as reissue_certificate
from services.certificates import revoke as revoke_certificate

# The panel's own pages (sqladmin's layout around them); found whatever the working folder.
TEMPLATES = PROJECT_ROOT / "templates" / "admin"
FORM_PAGE = "certificate_action.html"

# A column that is not the table's: the link to the row's PDF (details page).
PDF = "pdf"
LABELS: dict[Any, str] = {
    "certificate_id": "ID",
    "learner_name": "Learner",
    "course_title": "Course",
    "unique_id": "Unique ID",
    "issue_date": "Issued",
    "user_id": "Learner ID",
    "reissued_at": "Re-issued at",
    PDF: "PDF",
}
_STATUS: dict[CertificateStatus, tuple[str, str]] = {
    # What each state means to the admin, and its colour (Tabler's light badges).
    CertificateStatus.ISSUING: ("Issuing", "bg-yellow-lt"),
    CertificateStatus.VALID: ("Valid", "bg-green-lt"),
    CertificateStatus.REVOKED: ("Revoked", "bg-red-lt"),
}
_FILE_HEADERS = {
    "Content-Disposition": "attachment; filename=certificate.pdf",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private",
}


# -- the columns ------------------------------------------------------------------------------


def _learner(certificate: Certificate, _name: str) -> Markup:
    """The name as certified, the account's email under it, and the account's name when it
    is no longer the certified one (a re-issue corrects the certificate)."""
    user = certificate.user
    certified = certificate.learner_name or user.name
    cell = Markup('{}<div class="text-secondary small">{}</div>').format(certified, user.email)
    if user.name != certified:
        cell += Markup('<div class="text-secondary small">Account name: {}</div>').format(user.name)
    return cell


def _course_wrapped(certificate: Certificate, _name: str) -> Markup:
    # A long title wraps to the learner's cell's height instead of widening the list.
    return Markup(
        '<div class="text-wrap" style="min-width: 9rem; max-width: 12rem">{}</div>'
    ).format(certificate.course_title)


def _badge(certificate: Certificate) -> Markup:
    label, colour = _STATUS[certificate.status]
    return Markup('<span class="badge {}">{}</span>').format(colour, label)


def _day(moment: datetime) -> Markup:
    # The day on the page, the minute on hover: the list stays narrow.
    return Markup('<span title="{}">{}</span>').format(
        moment.strftime("%Y-%m-%d %H:%M UTC"), moment.strftime("%Y-%m-%d")
    )


def _small(content: Markup | str) -> Markup:
    return Markup(
        '<div class="text-secondary small text-wrap" style="min-width: 8rem; max-width: 14rem">'
        "{}</div>"
    ).format(content)


def _state(certificate: Certificate, _name: str) -> Markup:
    """The state, and what an admin asks next: since when and why it was revoked (the
    reason is long text, shown only here), or when it was re-issued."""
    cell = _badge(certificate)
    if certificate.revoked_at is not None:
        cell += _small(Markup("on {}").format(_day(certificate.revoked_at)))
        cell += _small(certificate.revocation_reason or "")
    elif certificate.reissued_at is not None:
        cell += _small(Markup("Re-issued {}").format(_day(certificate.reissued_at)))
    return cell


def _status(certificate: Certificate, _name: str) -> Markup:
    return _badge(certificate)


def _issued_on(certificate: Certificate, _name: str) -> Markup:
    return _day(certificate.issue_date)


def _has_file(certificate: Certificate) -> bool:
    return certificate.status is not CertificateStatus.ISSUING and bool(certificate.file_key)


def _downloads(request: Request) -> bool:
    # The API's rule (``services.certificates.certificate_for``): a certificate's PDF is its
    # learner's and the admins'; the course's instructor sees the row, not the document.
    return panel_user(request).role is Role.ADMIN


def _pdf_link(certificate: Certificate, _name: str, request: Request) -> Markup:
    if not _has_file(certificate) or not _downloads(request):
        return Markup("—")
    return Markup('<a href="{}/certificates/file/{}" download>PDF</a>').format(
        BASE_URL, certificate.certificate_id
    )


def _unique_id(certificate: Certificate, name: str, request: Request) -> Markup:
    """The id printed on the certificate, and its PDF under it, once there is one."""
    cell = Markup("{}").format(certificate.unique_id)
    if _has_file(certificate) and _downloads(request):
        link = _pdf_link(certificate, name, request)
        cell += Markup('<div class="small">{}</div>').format(link)
    return cell


def _listed(columns: Sequence[Any]) -> builtins.list[Any]:
    """Who, what, in which state and since when first (what fits a laptop's width beside
    the filters), then the id printed on it, with its PDF. The links, the revision and the
    ids the names stand for are on the details page."""
    wanted = ["certificate_id", "learner_name", "course_title", "status", "issue_date"]
    return [column for column in (*wanted, "unique_id") if column in columns]


def _detailed(columns: Sequence[Any]) -> builtins.list[Any]:
    """The generated columns, each name just before the id it stands for, and the PDF
    after the download link clients use."""
    named: builtins.list[Any] = []
    for column in columns:
        if column in ("learner_name", "course_title"):
            continue
        if column == "user_id":
            named += ["learner_name", column]
        elif column == "course_id":
            named += ["course_title", column]
        elif column == "certificate_url":
            named += [column, PDF]
        else:
            named.append(column)
    return named if PDF in named else [*named, PDF]


# -- the forms the actions open ---------------------------------------------------------------


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class RevokeForm(Form):
    reason = TextAreaField(
        "Reason",
        filters=[_stripped],
        validators=[
            validators.DataRequired("Say why the certificates are revoked."),
            validators.Length(max=500, message="At most 500 characters."),
        ],
        description="Shown to anyone who verifies the certificate, with the date.",
        render_kw={"class": "form-control", "rows": 3, "maxlength": 500},
    )


class ReissueForm(Form):
    learner_name = StringField(
        "Learner's name",
        filters=[_stripped],
        validators=[
            validators.Optional(),
            validators.Length(max=255, message="At most 255 characters."),
        ],
        render_kw={"class": "form-control", "maxlength": 255},
    )


class CertificateView(ActionsView):
    _panel_pages: Environment | None = None
    action_roles: ClassVar = {"revoke": ADMINS, "reissue": ADMINS}
    column_formatters: ClassVar = {
        "learner_name": _learner,
        "course_title": _course_wrapped,
        "status": _state,
        "issue_date": _issued_on,
        "unique_id": _unique_id,
    }
    column_formatters_detail: ClassVar = {
        "learner_name": _learner,
        "status": _status,
        PDF: _pdf_link,
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # ``view_for`` builds the generated view as a subclass, its columns from the
        # declaration (which hides ``file_key``): here they get their order and names.
        super().__init_subclass__(**kwargs)
        cls.column_list = _listed(cls.column_list)
        cls.column_details_list = _detailed(cls.column_details_list)
        cls.column_labels = {**cls.column_labels, **LABELS}

    # -- reading: the learner's account joined in -------------------------------------------

    def list_query(self, request: Request) -> Select[Any]:
        return super().list_query(request).options(_learners())

    def details_query(self, request: Request) -> Select[Any]:
        return super().details_query(request).options(_learners())

    @expose("/file/{pk:int}", methods=["GET"])
    async def file(self, request: Request) -> Response:
        """The certificate's PDF, to an admin (the API's download wants a bearer token,
        which a browser page does not send); only once it is issued."""
        request.path_params["pk"] = str(request.path_params["pk"])
        certificate = await self.get_object_for_details(request)  # scoped to the user
        if certificate is None or not _has_file(certificate) or not _downloads(request):
            raise HTTPException(status_code=404)
        return await panel_file(
            self.state.storage,
            certificate.file_key,
            media_type="application/pdf",
            headers=_FILE_HEADERS,
        )

    # -- revoking ---------------------------------------------------------------------------

    @action(name="revoke", label="Revoke")
    async def revoke(self, request: Request) -> Response:
        """The form: which certificates, and why."""
        return await self._open_form(request, "revoke", RevokeForm())

    @expose("/action/revoke", methods=["POST"])
    async def revoke_confirmed(self, request: Request) -> Response:
        """Every selected certificate revoked, or none (the page says which was refused)."""
        self._may(request, "revoke")
        form = RevokeForm(await request.form())
        if not form.validate():
            return await self._open_form(request, "revoke", form, status_code=400)
        why, now = str(form.reason.data), utcnow()
        try:
            row_ids = self._selected(request)
        except PanelError as exc:
            return self._return(request, str(exc))

        def every_row(session: Session, user: User) -> None:
            for certificate_id in row_ids:
                try:
                    revoke_certificate(
                        session, actor=user, certificate_id=certificate_id, reason=why, now=now
                    )
                except DomainError as exc:
                    raise PanelError(f"{self.name} #{certificate_id}: {reason(exc)}") from exc

        try:
            await self.in_transaction(request, every_row)
        except PanelError as exc:
            return self._return(request, str(exc))
        return self._return(request, None)

    # -- re-issuing -------------------------------------------------------------------------

    @action(name="reissue", label="Re-issue")
    async def reissue(self, request: Request) -> Response:
        """The form: one certificate, and the name it should carry."""
        return await self._open_form(request, "reissue", ReissueForm())

    @expose("/action/reissue", methods=["POST"])
    async def reissue_confirmed(self, request: Request) -> Response:
        """A new PDF, rendered and stored between two short units of work (the flow's): no
        panel transaction is held open around it."""
        self._may(request, "reissue")
        form = ReissueForm(await request.form())
        if not form.validate():
            return await self._open_form(request, "reissue", form, status_code=400)
        try:
            [certificate_id] = self._one(request)
            try:
                await reissue_certificate(
                    async_units_of_work(self.state.write_sessions),
                    self.state.storage,
                    self.state.settings,
                    actor=panel_user(request),
                    certificate_id=certificate_id,
                    learner_name=form.learner_name.data or None,
                )
            except DomainError as exc:
                raise PanelError(f"{self.name} #{certificate_id}: {reason(exc)}") from exc
        except PanelError as exc:
            return self._return(request, str(exc))
        return self._return(request, None)

    # -- the forms' plumbing ----------------------------------------------------------------

    def _may(self, request: Request, slug: str) -> None:
        # An exposed endpoint is checked for the view only; the action's own roles here.
        if not self.has_permission(request, custom_action(slug)):
            raise HTTPException(status_code=403)

    def _one(self, request: Request) -> builtins.list[int]:
        row_ids = self._selected(request)
        if len(row_ids) != 1:
            # Each re-issue is one learner's name on one new document.
            raise PanelError("Re-issue one certificate at a time: select exactly one")
        return row_ids

    async def _chosen(self, request: Request, slug: str) -> builtins.list[Certificate]:
        """The selected certificates, within the user's reach, with their learners."""
        row_ids = self._one(request) if slug == "reissue" else self._selected(request)
        if not row_ids:
            raise PanelError("Select the certificates first")
        statement = self.list_query(request).where(Certificate.certificate_id.in_(row_ids))
        async with self.sessions() as session:
            found = {row.certificate_id: row for row in (await session.scalars(statement)).all()}
        for row_id in row_ids:
            if row_id not in found:
                raise PanelError(f"{self.name} #{row_id}: Certificate not found")
        return [found[row_id] for row_id in row_ids]

    async def _open_form(
        self, request: Request, slug: str, form: Form, *, status_code: int = 200
    ) -> Response:
        try:
            chosen = await self._chosen(request, slug)
        except PanelError as exc:
            return self._return(request, str(exc))
        back = str(self._back(request, None))
        if isinstance(form, ReissueForm):
            # What an empty field stands for, by name (a re-issue is for one learner).
            form.learner_name.description = (
                "As it should read on the certificate. Left empty: "
                f"{chosen[0].user.name}, as on the learner's account."
            )
        context = {
            "request": request,
            "model_view": self,
            "heading": "Revoke certificates" if slug == "revoke" else "Re-issue a certificate",
            "slug": slug,
            "form": form,
            "certificates": chosen,
            "statuses": {status: label for status, (label, _) in _STATUS.items()},
            "action_url": str(
                URL(request.url.path).include_query_params(pks=_pks(chosen), back=back)
            ),
            "back": back,
        }
        page = await self._pages().get_template(FORM_PAGE).render_async(context)
        return HTMLResponse(page, status_code=status_code)

    def _pages(self) -> Environment:
        """sqladmin's templates (its layout, its macros and globals) and the panel's own."""
        env = self._panel_pages
        if env is None:
            base = self.templates.env
            loader = ChoiceLoader([FileSystemLoader(TEMPLATES), *_loaders(base)])
            env = base.overlay(loader=loader)
            self._panel_pages = env
        return env

    def _back(self, request: Request, message: str | None) -> URL:
        """Where the action was started (the page the link was followed from, carried by
        the form as ``back``), when it is a panel page of this site; else the list. A
        refusal goes to the list, where sqladmin shows it (a details page shows no
        ``?error=``)."""
        listing = URL(str(request.url_for("admin:list", identity=self.identity)))
        target = URL(request.query_params.get("back") or request.headers.get("referer", ""))
        inside = target.path == BASE_URL or target.path.startswith(f"{BASE_URL}/")
        if target.netloc != request.url.netloc or not inside:
            target = listing
        target = target.remove_query_params("error")  # an earlier refusal is over
        if message:
            if target.path != listing.path:
                target = listing
            target = target.include_query_params(error=message)
        return target

    def _return(self, request: Request, message: str | None) -> RedirectResponse:
        return RedirectResponse(str(self._back(request, message)), status_code=302)


def _pks(certificates: Sequence[Certificate]) -> str:
    return ",".join(str(certificate.certificate_id) for certificate in certificates)


def _loaders(env: Environment) -> builtins.list[Any]:
    loader = env.loader
    return [] if loader is None else [loader]


def _learners() -> Any:
    # Many-to-one and never null: joined into the page's own query; only what is shown.
    return joinedload(Certificate.user, innerjoin=True).load_only(User.name, User.email)
