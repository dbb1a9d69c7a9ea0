"""The review web app: the queue, one candidate at a time, a source's grid, the audit log.

Flask with Jinja2 templates (autoescaping on), plain CSS and one small script for the
keyboard; nothing to build. Serve it with waitress (see cli.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlparse

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.globals import request_ctx
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response as BaseResponse

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.records import DATASET_COLUMNS, NUMERIC_COLUMNS, VOCABULARY
from pipeline.review import actions, queries, security
from pipeline.review.highlight import found_fields, pieces
from pipeline.review.images import ImageUnavailable, Thumbnails, browser_image, image_path
from pipeline.store import (
    Candidate,
    ConflictError,
    NothingToUndo,
    Store,
    UnknownCandidateError,
    current_user,
)

ROW_INT_MAX = 2**63 - 1  # the largest id or version the store's integer columns hold
# The fields a reviewer checks on every image, in the order of the form; the rest fold away.
MAIN_FIELDS = (
    "sex", "age", "finding", "view", "modality", "offset", "survival", "intubated",
    "went_icu", "needed_supplemental_O2", "RT_PCR_positive", "temperature", "date", "location",
)  # fmt: skip
HIDDEN_FIELDS = ("patientid", "folder")  # set by approval and the patient panel
LONG_FIELDS = ("clinical_notes", "other_notes")
MORE_FIELDS = tuple(
    name for name in DATASET_COLUMNS if name not in (*MAIN_FIELDS, *HIDDEN_FIELDS, *LONG_FIELDS)
)
QUEUE_PAGE = 300
REJECT_REASONS = (
    "not a chest X-ray or CT", "duplicate", "chart, drawing or photo", "poor quality or cropped",
    "not the patient described", "annotated beyond use",
)  # fmt: skip
REVIEWER_COOKIE = "reviewer"
REVIEWER_NAME = re.compile(r"^[\w .@'-]{1,64}$")


@dataclass
class ReviewContext:
    store: Store
    config: Config
    thumbnails: Thumbnails


def _ctx() -> ReviewContext:
    return current_app.extensions["review"]


def reviewer() -> str:
    name = request.cookies.get(REVIEWER_COOKIE, "")
    return name if REVIEWER_NAME.match(name) else current_user()


def safe_link(url: Any) -> str | None:
    """A link only for http(s) addresses: `javascript:` and friends stay plain text."""
    if not url:
        return None
    parsed = urlparse(str(url).strip())
    return str(url).strip() if parsed.scheme in ("http", "https") and parsed.netloc else None


def doi_link(doi: Any) -> str | None:
    if not doi:
        return None
    return "https://doi.org/" + quote(str(doi).strip(), safe="/")


def when(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, datetime):
        value = value.isoformat()
    return str(value).replace("T", " ")[:19]


def _here(default: str) -> str:
    """Where to return after a form: a path on this site only, never another host."""
    here = request.form.get("here") or ""
    return here if here.startswith("/") and not here.startswith(("//", "/\\")) else default


def _view() -> queries.QueueFilter:
    source = request.form if request.method == "POST" else request.args
    return queries.QueueFilter.from_args(source)


def row_int(text: str) -> int:
    """An integer from a form that the store can hold; ValueError otherwise."""
    number = int(text)
    if not 0 <= number <= ROW_INT_MAX:
        raise ValueError(f"{text!r} is out of range")
    return number


def _version() -> int:
    try:
        return row_int(request.form["version"])
    except (KeyError, ValueError):
        abort(400, description="the form did not say which version of the row it edits")


def _candidate_or_404(candidate_id: int) -> Candidate:
    """Every route that names a candidate finds it here: an id beyond what the store's
    64-bit integers hold is not found, rather than a database overflow (500)."""
    if not 0 <= candidate_id <= ROW_INT_MAX:
        abort(404, description=f"no candidate {candidate_id}")
    try:
        return _ctx().store.candidate(candidate_id)
    except UnknownCandidateError:
        abort(404, description=f"no candidate {candidate_id}")


def _next_url(candidate_id: int, view: queries.QueueFilter) -> str:
    ids = [row.id for row in queries.queue(_ctx().store, view)]
    following = queries.position(ids, candidate_id).next
    if following is None:
        return url_for("queue_page", **view.args())
    return url_for("candidate_page", candidate_id=following, **view.args())


def _conflict_message(current: Candidate, attempted: str) -> str:
    who = current.decided_by or "another reviewer"
    state = current.status
    reason = current.decision_reason
    return (
        f"{who} changed this candidate at {when(current.decided_at) or 'just now'} "
        f"while you had it open (it is now {state}"
        + (f", reason: {reason}" if reason else "")
        + f"). Your {attempted} was not saved. Look again and decide below if you disagree."
    )


def render_candidate(
    candidate: Candidate,
    *,
    problems: list[str] | None = None,
    conflict: str | None = None,
    submitted: dict[str, Any] | None = None,
    status_code: int = 200,
) -> tuple[str, int]:
    ctx = _ctx()
    view = _view()
    ids = [row.id for row in queries.queue(ctx.store, view)]
    pos = queries.position(ids, candidate.id)
    notes_text = candidate.fields.get("clinical_notes")
    notes = pieces(notes_text, candidate.evidence)
    caption = candidate.caption
    caption_pieces = pieces(caption, candidate.evidence) if caption != notes_text else []
    duplicates = []
    for other_id, distance in queries.duplicates_named(candidate.flags):
        try:
            duplicates.append((ctx.store.candidate(other_id), distance))
        except UnknownCandidateError:
            continue
    values = {**candidate.fields, **(submitted or {})}
    neighbours, same_figure = queries.neighbours(ctx.store, candidate)
    html = render_template(
        "candidate.html",
        c=candidate,
        values=values,
        view=view,
        pos=pos,
        neighbours=neighbours,
        same_figure=same_figure,
        duplicates=duplicates,
        source=ctx.store.source(candidate.source_id),
        notes=notes,
        caption_pieces=caption_pieces,
        evidenced=found_fields(notes) | found_fields(caption_pieces),
        history=queries.history(ctx.store, candidate.id),
        patients=queries.patients_of_source(ctx.store, candidate.source_id),
        problems=problems or [],
        conflict=conflict,
        doi_url=doi_link(candidate.fields.get("doi")),
        case_url=safe_link(candidate.fields.get("url")),
        reasons=REJECT_REASONS,
    )
    return html, status_code


def create_app(store: Store, config: Config, *, token: str | None = None) -> Flask:
    """The review app over one staging store. With `token`, every request must carry it."""
    app = Flask(__name__)
    app.extensions["review"] = ReviewContext(store, config, Thumbnails())
    security.install(app, token)
    app.jinja_env.globals.update(
        reviewer=reviewer,
        vocabulary=VOCABULARY,
        numeric_columns=NUMERIC_COLUMNS,
        main_fields=MAIN_FIELDS,
        more_fields=MORE_FIELDS,
        long_fields=LONG_FIELDS,
        flag_kind=queries.flag_kind,
        low_confidence=config.classify.low_confidence,
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["link"] = safe_link

    @app.errorhandler(OperationalError)
    def _busy(exc: OperationalError) -> tuple[str, int]:
        return render_template(
            "error.html",
            code=503,
            message=("the staging database is busy or locked; nothing was saved. Try again."),
        ), 503

    @app.errorhandler(400)
    @app.errorhandler(401)
    @app.errorhandler(404)
    def _error(exc: Any) -> tuple[str, int] | Response:
        if request_ctx.url_adapter is None:  # the Host header was refused: no links to build
            return Response(f"{exc.code}: {exc.description}\n", exc.code, mimetype="text/plain")
        return render_template("error.html", code=exc.code, message=exc.description), exc.code

    @app.get("/")
    def queue_page() -> str:
        view = _view()
        rows = queries.queue(store, view)
        pages = max(1, -(-len(rows) // QUEUE_PAGE))
        page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
        first = (page - 1) * QUEUE_PAGE
        return render_template(
            "queue.html",
            view=view,
            rows=rows[first : first + QUEUE_PAGE],
            first=first,
            page=page,
            pages=pages,
            total=len(rows),
            facets=queries.facets(store),
        )

    @app.get("/candidate/<int:candidate_id>")
    def candidate_page(candidate_id: int) -> tuple[str, int]:
        return render_candidate(_candidate_or_404(candidate_id))

    @app.post("/candidate/<int:candidate_id>")
    def candidate_change(candidate_id: int) -> BaseResponse | tuple[str, int]:
        current = _candidate_or_404(candidate_id)
        action = request.form.get("action", "")
        version, view = _version(), _view()
        edits = actions.edits_from_form(request.form, current.fields)
        reason = (request.form.get("reason") or "").strip() or None
        try:
            if action == "save":
                actions.save(store, candidate_id, edits, version=version, actor=reviewer())
                flash(f"Saved #{candidate_id}.", "ok")
                return redirect(url_for("candidate_page", candidate_id=candidate_id, **view.args()))
            if action not in actions.DECISIONS:
                abort(400, description=f"unknown action {action!r}")
            after = actions.decide(
                store,
                candidate_id,
                action,
                version=version,
                actor=reviewer(),
                reason=reason,
                edits=edits if action == "approved" else None,
            )
        except ConflictError as exc:
            word = {"approved": "approval", "rejected": "rejection"}.get(action, "edit")
            message = _conflict_message(exc.current, word)
            if edits:
                unsaved = "; ".join(
                    f"{name} = {value or '(empty)'}" for name, value in edits.items()
                )
                message += f" Your unsaved edits were: {unsaved}."
            return render_candidate(exc.current, conflict=message, status_code=409)
        except actions.RowProblems as exc:
            return render_candidate(
                current, problems=exc.problems, submitted=edits, status_code=422
            )
        if action == "approved":
            fields = after.fields
            flash(
                f"Approved #{candidate_id} as patient {fields['patientid']}, "
                f"{fields['filename']}. Press u to undo.",
                "ok",
            )
        else:
            flash(f"Rejected #{candidate_id} ({reason}). Press u to undo.", "ok")
        return redirect(_next_url(candidate_id, view))

    @app.post("/candidate/<int:candidate_id>/patient")
    def patient_change(candidate_id: int) -> BaseResponse | tuple[str, int]:
        current = _candidate_or_404(candidate_id)
        action, view = request.form.get("action", ""), _view()
        try:
            if action == "split":
                after = actions.split_patient(
                    store, candidate_id, version=_version(), actor=reviewer()
                )
                flash(f"#{candidate_id} is now patient {after.fields['patientid']}.", "ok")
            elif action == "set":
                after = actions.set_patient(
                    store,
                    candidate_id,
                    request.form.get("patientid", ""),
                    version=_version(),
                    actor=reviewer(),
                )
                flash(f"#{candidate_id} is now patient {after.fields['patientid']}.", "ok")
            elif action == "merge":
                into = request.form.get("into", "")
                moved = actions.merge_patients(
                    store, current.fields.get("patientid") or "", into, actor=reviewer()
                )
                flash(f"Merged {len(moved)} image(s) into patient {into.strip()}.", "ok")
            else:
                abort(400, description=f"unknown patient action {action!r}")
        except ConflictError as exc:
            return render_candidate(
                exc.current,
                conflict=_conflict_message(exc.current, "patient change"),
                status_code=409,
            )
        except actions.RowProblems as exc:
            return render_candidate(current, problems=exc.problems, status_code=422)
        return redirect(url_for("candidate_page", candidate_id=candidate_id, **view.args()))

    @app.post("/undo")
    def undo() -> BaseResponse:
        view = _view()
        try:
            after = actions.undo_last(store, reviewer())
        except NothingToUndo as exc:
            flash(str(exc), "error")
            return redirect(_here(url_for("queue_page", **view.args())))
        except ConflictError as exc:
            flash(
                f"Cannot undo your decision on #{exc.candidate_id}: "
                f"{exc.current.decided_by or 'someone'} changed it since "
                f"(now {exc.current.status}).",
                "error",
            )
            return redirect(url_for("candidate_page", candidate_id=exc.candidate_id, **view.args()))
        flash(f"Undone: #{after.id} is {after.status} again.", "ok")
        return redirect(url_for("candidate_page", candidate_id=after.id, **view.args()))

    @app.get("/source")
    def source_page() -> str:
        source_id = request.args.get("id", "")
        rows = store.candidates(source_id=source_id)
        if not rows:
            abort(404, description="no candidates from that source")
        return render_template(
            "source.html",
            source_id=source_id,
            source=store.source(source_id),
            rows=rows,
            pending=[row for row in rows if row.status == "pending"],
            view=_view(),
            reasons=REJECT_REASONS,
            doi_url=doi_link(rows[0].fields.get("doi")),
            case_url=safe_link(rows[0].fields.get("url")),
        )

    @app.post("/source")
    def source_decide() -> BaseResponse | tuple[str, int]:
        source_id = request.form.get("source_id", "")
        status = request.form.get("action", "")
        try:
            versions = {
                row_int(key[2:]): row_int(value)
                for key, value in request.form.items()
                if key.startswith("v_")
            }
        except ValueError:
            abort(400, description="malformed candidate versions")
        back = url_for("source_page", id=source_id)
        if not versions:
            flash("Nothing pending to decide in this source.", "error")
            return redirect(back)
        try:
            changed = actions.decide_source(
                store,
                source_id,
                status,
                versions,
                actor=reviewer(),
                reason=(request.form.get("reason") or "").strip() or None,
            )
        except ConflictError as exc:
            message = _conflict_message(exc.current, "bulk decision")
            flash(f"Candidate #{exc.candidate_id}: {message}", "error")
            return redirect(back)
        except (actions.RowProblems, ValueError) as exc:
            problems = getattr(exc, "problems", [str(exc)])
            flash("Nothing decided: " + "; ".join(problems), "error")
            return redirect(back)
        flash(f"{status.capitalize()} {len(changed)} candidate(s) from this source.", "ok")
        return redirect(back)

    @app.post("/export")
    def export() -> BaseResponse:
        from pipeline.export import export_dataset

        try:
            result = export_dataset(
                store, config.path("dataset_csv"), config.path("dataset_images")
            )
        except PipelineError as exc:
            flash(str(exc), "error")
        else:
            flash(
                f"Exported {result.rows} rows to {result.csv_path}; "
                f"copied {result.images_copied} new image(s).",
                "ok",
            )
        return redirect(_here(url_for("queue_page")))

    @app.post("/reviewer")
    def set_reviewer() -> BaseResponse:
        name = (request.form.get("name") or "").strip()
        response = redirect(_here(url_for("queue_page")))
        if REVIEWER_NAME.match(name):
            response.set_cookie(
                REVIEWER_COOKIE, name, max_age=365 * 86400, httponly=True, samesite="Strict"
            )
        else:
            flash("A reviewer name is 1-64 letters, digits, spaces or . @ ' -", "error")
        return response

    @app.get("/audit")
    def audit_page() -> str:
        return render_template("audit.html", entries=queries.history(store, limit=300))

    @app.get("/image/<int:candidate_id>")
    def image(candidate_id: int) -> Response:
        candidate = _candidate_or_404(candidate_id)
        try:
            body, mimetype = browser_image(image_path(config, candidate.image_file))
        except ImageUnavailable as exc:
            abort(404, description=str(exc))
        if isinstance(body, bytes):
            return Response(body, mimetype=mimetype)
        return send_file(body, mimetype=mimetype, max_age=3600, conditional=True, etag=True)

    @app.get("/thumb/<int:candidate_id>")
    def thumbnail(candidate_id: int) -> Response:
        candidate = _candidate_or_404(candidate_id)
        path = image_path(config, candidate.image_file)
        try:
            data = _ctx().thumbnails.get(path, candidate.image_sha256)
        except ImageUnavailable as exc:
            abort(404, description=str(exc))
        response = Response(data, mimetype="image/jpeg")
        response.headers["Cache-Control"] = "private, max-age=3600"
        return response

    return app
